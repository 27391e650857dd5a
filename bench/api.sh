#!/usr/bin/env bash
# Benchmark (run by hand, not a test): the docker CLI 28 through Wharf's Engine API (`wharf system service`, warm)
# against the same CLI through a private dockerd, in one run, the two taking turns: `docker run --rm busybox true`,
# `docker ps -a` with 200 containers, and the service's resident memory when idle. Prints a Markdown table.
# Usage: bash bench/api.sh [runs=10]   (after scripts/ensure-deps.sh, which this does not run: in a worktree whose
# node_modules is a link to the main checkout's, its `npm ci` would empty that directory under everyone else)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench-api.XXXXXX)
DPID=""
SPID=""
RPIDS=()
. bench/private-dockerd.sh
cleanup() {
  set +e
  if [ -n "$SPID" ]; then
    ./bin/wharf --root "$W/wroot" rm -f $(./bin/wharf --root "$W/wroot" ps -aq) >/dev/null 2>&1
    kill "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
  fi
  for p in "${RPIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  remove_bench_dir
}
trap cleanup EXIT

start_private_dockerd wharf-bench-api

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null

./bin/wharf --root "$W/wroot" system service --time 0 "unix://$W/w.sock" 2>"$W/service.log" &
SPID=$!
for _ in $(seq 1 100); do [ -S "$W/w.sock" ] && break; sleep 0.1; done
A() { docker -H "unix://$W/w.sock" "$@"; }
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SPID/status"; }
sleep 1
RSS_START=$(rss_mb)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk "BEGIN { print $e - $s }"; }
# turns OUT1 OUT2 TIMER TOOL1 TOOL2 [ARGS...]: RUNS rounds in which `TIMER TOOL1 ARGS` and `TIMER TOOL2 ARGS` take
# turns; the medians of the times TIMER prints go into the variables OUT1 and OUT2.
turns() {
  local out1=$1 out2=$2 timer=$3 tool1=$4 tool2=$5 t1=() t2=()
  shift 5
  for _ in $(seq 1 "$RUNS"); do
    t1+=("$("$timer" "$tool1" "$@")")
    t2+=("$("$timer" "$tool2" "$@")")
  done
  printf -v "$out1" '%s' "$(printf '%s\n' "${t1[@]}" | median)"
  printf -v "$out2" '%s' "$(printf '%s\n' "${t2[@]}" | median)"
}

# dockerd here runs with --bridge=none: both engines start the containers with --network none.
A run --rm --network none busybox true >/dev/null # warm: the service's modules, the page cache
D run --rm --network none busybox true >/dev/null
turns AR DR time_it A D run --rm --network none busybox true

# `ps -a` with 200 created containers in each engine.
for i in $(seq 1 200); do
  A create --network none --name "a$i" busybox true >/dev/null
  D create --network none --name "d$i" busybox true >/dev/null
done
A ps -a >/dev/null
D ps -a >/dev/null
turns APR DPR time_it A D ps -a
# The same list as one HTTP request, timed by curl itself (its time_total: the request alone, without curl's nor the
# docker CLI's start-up and version negotiation).
curl_t() { curl -sf -o /dev/null -w '%{time_total}' --unix-socket "$1" 'http://x/containers/json?all=1'; }
turns CAR CDR curl_t "$W/w.sock" "$W/d.sock"
# The docker CLI's floor: its start-up, /_ping and one request answered at once (inspect of a missing container, 404).
turns FAR FDR time_it A D container inspect --format . no-such-container
# The lowest `ps -a` any server could give: the same CLI against bench/replay-engine.mjs, which answers /_ping and the
# list with a body recorded from each engine, from memory, at once. What is left is the CLI's own work.
curl -sf --unix-socket "$W/w.sock" 'http://x/v1.43/containers/json?all=1' >"$W/wlist.json"
curl -sf --unix-socket "$W/d.sock" 'http://x/v1.41/containers/json?all=1' >"$W/dlist.json"
node bench/replay-engine.mjs "$W/rw.sock" "$W/wlist.json" 1.43 &
RPIDS+=($!)
node bench/replay-engine.mjs "$W/rd.sock" "$W/dlist.json" 1.41 &
RPIDS+=($!)
for _ in $(seq 1 100); do [ -S "$W/rw.sock" ] && [ -S "$W/rd.sock" ] && break; sleep 0.1; done
RW() { docker -H "unix://$W/rw.sock" "$@"; }
RD() { docker -H "unix://$W/rd.sock" "$@"; }
[ "$(RW ps -aq | wc -l)" = 200 ] && [ "$(RD ps -aq | wc -l)" = 200 ] || { echo "the replay servers do not list 200" >&2; exit 1; }
turns XWR XDR time_it RW RD ps -a
[ "$(A ps -aq | wc -l)" = 200 ] || { echo "wharf lists $(A ps -aq | wc -l) containers, not 200" >&2; exit 1; }

sleep 5 # the service collects its garbage after 3 s without a request (src/api/idle-gc.ts)
RSS_IDLE=$(rss_mb)

ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "Median of $RUNS runs each, taking turns; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M') UTC"
echo
echo "| case | docker → wharf API | docker → dockerd | wharf / dockerd (lower is better) |"
echo "|---|---|---|---|"
echo "| \`docker run --rm --network none busybox true\` (s) | $AR | $DR | $(ratio "$AR" "$DR") |"
echo "| \`docker ps -a\`, 200 containers (s) | $APR | $DPR | $(ratio "$APR" "$DPR") |"
echo "| \`GET /containers/json?all=1\`, curl's time_total, 200 containers (s) | $CAR | $CDR | $(ratio "$CAR" "$CDR") |"
echo "| the CLI's floor: \`docker inspect\` of a missing container (s) | $FAR | $FDR | $(ratio "$FAR" "$FDR") |"
echo "| \`docker ps -a\` against a replay of each engine's list from memory (s) | $XWR | $XDR | $(ratio "$XWR" "$XDR") |"
echo "| lowest \`ps -a\` ratio any server reaches: replay of wharf's list / dockerd's \`ps -a\` | | | $(ratio "$XWR" "$DPR") |"
echo "| service RSS idle: after start / after the runs (MB) | $RSS_START / $RSS_IDLE | | |"
