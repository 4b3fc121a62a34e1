#!/bin/sh
# Set up (scripts/setup.sh), then run every test suite:
#  1. the default build: unit, golden, cli, lint suites, then the
#     integration suite (a real libvirtd, started by the tests), then the
#     guest-e2e suite (a debootstrapped Debian guest converted and booted
#     to its login prompt under TCG; the guest is cached between runs);
#  2. an ASan+UBSan build of the same suites, and a ThreadSanitizer
#     build of the raw disk writer's cases;
#  3. the fuzzers (clang, libFuzzer), a short run each;
#  4. the benchmarks, small (a smoke run; goals reported, not enforced).
# Prints "N passed, N failed, N skipped" at the end; exits non-zero on any
# failure.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=1
# The suites that start their own libvirtd (one at a time: they share it).
meson test -C build --setup integration --suite integration \
    --print-errorlogs --num-processes 1 || status=1
meson test -C build --setup guest --suite guest-e2e \
    --print-errorlogs --num-processes 1 || status=1

if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debug -Ddocs=disabled
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 \
        --no-suite lint --no-suite bench || status=1

# The raw writer's queue and its threads under ThreadSanitizer: the disk
# writer cases only (GLib's own locks are futexes TSan cannot see, so
# code on GThreadPool would report false races).
if [ ! -f build-tsan/build.ninja ]; then
    meson setup build-tsan -Db_sanitize=thread -Db_lundef=false \
        -Dbuildtype=debug -Ddocs=disabled
fi
ninja -C build-tsan tests/disk/test-disk
TSAN_OPTIONS=halt_on_error=1 \
    meson test -C build-tsan --no-rebuild --print-errorlogs \
        disk-queue disk-raw-sparse disk-raw-preallocated \
        disk-resume-raw-sparse disk-resume-raw-preallocated disk-enospc \
    || status=1

if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzzers=true -Dtests=false \
        -Db_sanitize=address,undefined -Db_lundef=false -Ddocs=disabled
fi
ninja -C build-fuzz
meson test -C build-fuzz --print-errorlogs --suite fuzz || status=1

# The benchmarks, small: a smoke run that they work and that convoy's
# outputs equal the baselines' (the README's figures come from the full
# 'meson test -C build --benchmark').  Goals are reported, not enforced:
# this machine's load decides them.
B="--convoy $PWD/build/engine/cli/convoy --mkxva $PWD/tests/tools/mkxva.py --workdir $PWD/build"
python3 tests/bench/bench-xva.py $B --size 256M --repeat 1 || status=1
python3 tests/bench/bench-apply.py $B --vms 4 --size 32M || status=1
python3 tests/bench/bench-plan.py $B --vms 500 || status=1

python3 scripts/test-summary.py build build-asan build-tsan build-fuzz || status=1
exit $status
