#!/usr/bin/env bash
# check.sh - checks kvd end to end: builds it, runs its Criterion tests,
# then starts the kvd command on a kernel-chosen port and talks to it with
# the real Redis clients (redis-cli, redis-benchmark).
#
# Usage: shared/kvd/check.sh        (from anywhere; exits non-zero on any
#                                    failure, one line per check)
set -u
cd "$(dirname "$0")/../.." || exit 2

pass=0
fail=0
ok() { echo "ok      $*"; pass=$((pass + 1)); }
bad() { echo "FAIL    $*"; fail=$((fail + 1)); }

tmp=$(mktemp -d /tmp/kvd-check.XXXXXX)
kvd_pid=
cleanup() {
    [ -n "$kvd_pid" ] && kill "$kvd_pid" 2>/dev/null && wait "$kvd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- build and unit tests ---------------------------------------------------

if make -s kvd WERROR=1 >"$tmp/build.log" 2>&1; then
    ok "build (make kvd, -Werror)"
else
    bad "build (make kvd, -Werror)"
    cat "$tmp/build.log"
    echo "$pass passed, $fail failed"
    exit 1
fi

# Criterion's --timeout names a hanging test; timeout(1) bounds the whole run.
if timeout 120 build/kvd/tests --timeout 30 >"$tmp/tests.log" 2>&1; then
    ok "kvd tests: $(grep -o 'Tested: [0-9]*' "$tmp/tests.log")"
else
    bad "kvd tests"
    grep -v '^\[----\]   $' "$tmp/tests.log" | tail -30
fi

# ---- the command --------------------------------------------------------------

KVD=build/kvd/kvd
if "$KVD" --help | grep -q -- '--latency-us'; then
    ok "kvd --help"
else
    bad "kvd --help"
fi
"$KVD" --port nope >/dev/null 2>"$tmp/err"
if [ $? = 2 ] && grep -q "expected a whole number" "$tmp/err"; then
    ok "kvd --port nope: usage error, status 2"
else
    bad "kvd --port nope: expected status 2 and a message"
fi

# Start on port 0 and read the port from its first line (a fifo: no sleep).
mkfifo "$tmp/out"
"$KVD" --port 0 >"$tmp/out" 2>"$tmp/kvd.err" &
kvd_pid=$!
port=
if exec 3<"$tmp/out" && read -r -t 10 line <&3; then
    port=${line##*:}
fi
if [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ]; then
    ok "kvd --port 0 listens on port $port"
else
    bad "kvd --port 0 did not print its port (got '${line:-}')"
    echo "$pass passed, $fail failed"
    exit 1
fi

# ---- redis-cli ------------------------------------------------------------------

cat >"$tmp/cli.in" <<'EOF'
PING
FLUSHALL
SET greeting "hello world"
GET greeting
INCR counter
INCR counter
INCR greeting
MSET a 1 b 2
MGET a b nope
DEL a b nope
EXISTS greeting
DBSIZE
ECHO "two words"
SET k v PX 100000
NOSUCH arg
GET
EOF
cat >"$tmp/cli.want" <<'EOF'
PONG
OK
OK
hello world
1
2
ERR value is not an integer or out of range

OK
1
2

2
1
2
two words
OK
ERR unknown command 'NOSUCH', with args beginning with: 'arg' 

ERR wrong number of arguments for 'get' command

EOF
# (redis-cli prints an empty line after each error when not on a terminal.)
if timeout 20 redis-cli -p "$port" <"$tmp/cli.in" >"$tmp/cli.out" 2>&1 &&
    diff -u "$tmp/cli.want" "$tmp/cli.out" >"$tmp/cli.diff"; then
    ok "redis-cli: 16 commands, replies as expected"
else
    bad "redis-cli: replies differ (want, got):"
    cat "$tmp/cli.diff"
fi
if [ "$(timeout 20 redis-cli -p "$port" INFO stats | grep -c '^kvd_round_trips:')" = 1 ]; then
    ok "redis-cli INFO stats shows kvd_round_trips"
else
    bad "redis-cli INFO stats lacks kvd_round_trips"
fi

# ---- redis-benchmark --------------------------------------------------------------

for p in 1 16; do
    log="$tmp/bench$p.log"
    timeout 60 redis-benchmark -p "$port" -t set,get,incr,mset -n 20000 \
        -c 50 -P "$p" -q >"$log" 2>&1
    rc=$?
    n=$(tr '\r' '\n' <"$log" | grep -c 'requests per second')
    if [ $rc = 0 ] && [ "$n" -ge 4 ] && ! tr '\r' '\n' <"$log" | grep -qi 'err'; then
        ok "redis-benchmark -P $p: $(tr '\r' '\n' <"$log" | grep 'requests per second' |
            sed -E 's/: ([0-9.]+) requests per second.*/ \1/' | tr '\n' ' ')"
    else
        bad "redis-benchmark -P $p (status $rc):"
        tr '\r' '\n' <"$log" | grep -v 'rps=' | tail -10
    fi
done

# ---- a clean stop -------------------------------------------------------------------

kill -TERM "$kvd_pid"
wait "$kvd_pid"
rc=$?
kvd_pid=
if [ $rc = 0 ]; then
    ok "kvd stops with status 0 on SIGTERM"
else
    bad "kvd exited with status $rc on SIGTERM"
    cat "$tmp/kvd.err"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
