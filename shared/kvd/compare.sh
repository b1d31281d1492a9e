#!/usr/bin/env bash
# compare.sh - kvd's throughput against redis-server's, measured the same
# way in the same session: redis-benchmark with 50 clients, pipeline depth
# 1 and 16, SET and GET. The two servers run side by side and the runs
# alternate between them, so a machine that gets busier or quieter during
# the measurement affects both alike; the median of the rounds is printed.
#
# Usage: shared/kvd/compare.sh [rounds] [requests]   (default 5, 200000)
# Needs redis-server (apt-get install redis-server); it is not a course
# dependency, only the yardstick. Nothing is written outside /tmp.
#
# On a busy machine throughput swings with whatever else runs, so the
# servers' own CPU time per request (from /proc/PID/stat, all threads) is
# printed too: it is what limits throughput once the CPU is the bottleneck,
# and it hardly depends on the load.
set -u
cd "$(dirname "$0")/../.." || exit 2
rounds=${1:-5}
requests=${2:-200000}

command -v redis-server >/dev/null || {
    echo "compare.sh: redis-server is not installed" >&2
    exit 2
}
make -s kvd >/dev/null || exit 1

tmp=$(mktemp -d /tmp/kvd-compare.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# kvd on a kernel-chosen port, read from its first line.
mkfifo "$tmp/kvd.out"
build/kvd/kvd --port 0 >"$tmp/kvd.out" &
kvd_pid=$!
pids+=("$kvd_pid")
exec 3<"$tmp/kvd.out"
read -r -t 10 line <&3 || exit 1
kvd_port=${line##*:}

# redis-server on a port the kernel says is free right now.
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1 # redis-server has no readiness signal; poll its PING
done

echo "redis-server $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') on port $redis_port, kvd on port $kvd_port"
echo "redis-benchmark -p PORT -t {set,get} -n $requests -c 50 -P {1,16} -q, $rounds rounds alternating"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, all threads
hz=$(getconf CLK_TCK)
for _ in $(seq "$rounds"); do
    for server in redis kvd; do
        port=$redis_port pid=$redis_pid
        [ $server = kvd ] && port=$kvd_port pid=$kvd_pid
        for p in 1 16; do
            for t in SET GET; do
                t0=$(ticks "$pid")
                rps=$(redis-benchmark -p "$port" -t "$t" -n "$requests" -c 50 \
                    -P "$p" -q 2>&1 | tr '\r' '\n' |
                    sed -nE "s/^$t: ([0-9.]+) requests per second.*/\1/p")
                t1=$(ticks "$pid")
                us=$(echo "($t1 - $t0) * 1000000 / $hz / $requests" | bc -l)
                echo "$server P$p $t ${rps:-0} $us" >>"$tmp/results"
            done
        done
    done
done
med() { # med server P test column
    awk -v s="$1" -v p="P$2" -v t="$3" -v c="$4" '$1 == s && $2 == p && $3 == t { print $c }' \
        "$tmp/results" | sort -n |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "medians:          requests per second            server CPU us per request"
printf '  %-4s %-3s %12s %10s %6s   %8s %8s %6s\n' test P redis-server kvd ratio redis kvd ratio
for p in 1 16; do
    for t in SET GET; do
        a=$(med redis $p $t 4) b=$(med kvd $p $t 4)
        ca=$(med redis $p $t 5) cb=$(med kvd $p $t 5)
        printf '  %-4s %-3s %12.0f %10.0f %6.2f   %8.2f %8.2f %6.2f\n' $t $p "$a" "$b" \
            "$(echo "$b / $a" | bc -l)" "$ca" "$cb" "$(echo "$cb / $ca" | bc -l)"
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
