#!/bin/sh
# A hook: convoy runs it before (CONVOY_HOOK=pre) and after (post) each VM
# of wave-1 with the VM's facts in CONVOY_* variables (convoy-apply(1)).
# Here it only keeps a log; a real one might drain a load balancer or post
# to a chat channel.  A non-zero exit from a pre-hook skips the VM.
set -eu
mkdir -p ../log
echo "$(date -u +%FT%TZ) $CONVOY_HOOK $CONVOY_VM -> $CONVOY_VM_TARGET_NAME (wave $CONVOY_WAVE)${CONVOY_STATUS:+: $CONVOY_STATUS}" >> ../log/hooks.log
