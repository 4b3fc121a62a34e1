#!/bin/sh
# pgserver.sh start DIR | stop DIR | restart DIR: a throwaway PostgreSQL
# (Debian's postgresql package) for tests, listening only on a unix
# socket in DIR, run as an unprivileged user (initdb refuses root; as
# root the server runs as 'nobody').  start prints the state URL of its
# database 'convoy' (user 'convoy', trust on the socket) and writes the
# postmaster's PID to DIR/pid; stop kills that PID (SIGINT: a fast
# shutdown) and waits for it.  Exit 77 when PostgreSQL is not installed.
set -eu
cmd=$1
dir=$(realpath -m "$2")
# The server's user may not enter the caller's folder.
cd /
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries are not installed (apt-get install postgresql)" >&2; exit 77; }
as=""
if [ "$(id -u)" -eq 0 ]; then
    as="runuser -u nobody --"
fi

wait_ready() {
    for _i in $(seq 1 200); do
        [ -S "$dir/.s.PGSQL.5432" ] && "$bin/pg_isready" -q -h "$dir" -U convoy -d postgres && return 0
        sleep 0.05
    done
    echo "pgserver: the server did not start; its log:" >&2
    cat "$dir/log" >&2
    return 1
}

start_server() {
    # pg_ctl -w would wait too; the log is the server's own file.
    $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -s \
        -o "-k $dir -h '' -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null
    wait_ready
    head -n 1 "$dir/data/postmaster.pid" > "$dir/pid"
}

case $cmd in
start)
    mkdir -p "$dir"
    if [ -n "$as" ]; then
        chown nobody "$dir"
        # The folders above must let it through.
        p=$dir
        while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    fi
    $as "$bin/initdb" -D "$dir/data" -U convoy --auth=trust -E UTF8 --no-sync >/dev/null 2>"$dir/initdb.err" ||
        { cat "$dir/initdb.err" >&2; exit 1; }
    start_server
    "$bin/createdb" -h "$dir" -U convoy convoy
    echo "postgresql:///convoy?host=$dir&user=convoy"
    ;;
stop)
    [ -s "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    kill -INT "$pid" 2>/dev/null || exit 0
    for _i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$dir/pid"
    ;;
restart)
    sh "$0" stop "$dir"
    start_server
    ;;
psql)
    shift 2
    exec "$bin/psql" -X -q -h "$dir" -U convoy -d convoy -v ON_ERROR_STOP=1 "$@"
    ;;
*)
    echo "usage: pgserver.sh start|stop|restart|psql DIR" >&2
    exit 99
    ;;
esac
