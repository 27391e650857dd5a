#!/usr/bin/env bash
# Benchmark (run by hand, not a test): container start latency (`run --rm busybox true`) and `commit` of a container
# that wrote 200 MB in 2,000 files, Wharf vs docker (a private dockerd from Debian's docker.io) and podman (runc) when
# it works here, in one run. Prints a Markdown table with ratios.
# Usage: bash bench/run.sh [runs=10]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
bash scripts/ensure-deps.sh >/dev/null
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench-run.XXXXXX)
DPID=""
. bench/private-dockerd.sh
cleanup() {
  set +e
  ./bin/wharf --root "$W/wroot" rm -f bench-writer >/dev/null 2>&1
  remove_bench_dir
}
trap cleanup EXIT

start_private_dockerd wharf-bench-run

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp" "$W/rootfs/data"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true head seq; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null

HAVE_PODMAN=0
P() { podman --root "$W/podman" --runroot "$W/podman-run" --storage-driver overlay --runtime runc --cgroup-manager cgroupfs --events-backend none "$@"; }
if command -v podman >/dev/null && P load -i "$W/bb.tar" >/dev/null 2>&1 && P run --rm --network none busybox true >/dev/null 2>&1; then HAVE_PODMAN=1; fi

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk "BEGIN { print $e - $s }"; }

# Start latency, with no network (the same for every tool; publishing ports is measured by the tests, not here).
# The tools take turns, one start each per round: this machine's speed drifts within minutes, and a series of one
# tool after the other's would compare two different machines.
W_ run --rm --network none busybox true >/dev/null # warm the page cache
D run --rm --network none busybox true >/dev/null
WT=(); DT=(); PT=()
for _ in $(seq 1 "$RUNS"); do
  WT+=("$(time_it W_ run --rm --network none busybox true)")
  DT+=("$(time_it D run --rm --network none busybox true)")
  [ "$HAVE_PODMAN" = 1 ] && PT+=("$(time_it P run --rm --network none busybox true)")
done
WR=$(printf '%s\n' "${WT[@]}" | median)
DR=$(printf '%s\n' "${DT[@]}" | median)
PR=n/a
[ "$HAVE_PODMAN" = 1 ] && PR=$(printf '%s\n' "${PT[@]}" | median)

# Commit of 200 MB in 2,000 files.
WRITE='i=0; while [ $i -lt 2000 ]; do head -c 100000 /dev/urandom > /data/f$i; i=$((i+1)); done'
commit_round() {
  local tool=$1
  "$tool" rm -f bench-writer >/dev/null 2>&1 || true
  "$tool" run --name bench-writer --network none busybox sh -c "$WRITE" >/dev/null
  sync # both tools start with nothing left to write back: the previous round's 200 MB would skew the next
  local t; t=$(time_it "$tool" commit bench-writer bench-committed:1)
  "$tool" rm -f bench-writer >/dev/null
  "$tool" rmi bench-committed:1 >/dev/null 2>&1 || true
  echo "$t"
}
WC=$( (for _ in 1 2 3; do commit_round W_; done) | median)
DC=$( (for _ in 1 2 3; do commit_round D; done) | median)
PC=n/a
[ "$HAVE_PODMAN" = 1 ] && PC=$( (for _ in 1 2 3; do commit_round P; done) | median)

ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "Median of $RUNS starts and 3 commits; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| case | wharf (s) | docker (s) | podman+runc (s) | wharf / docker (lower is better) |"
echo "|---|---|---|---|---|"
echo "| run --rm --network none busybox true | $WR | $DR | $PR | $(ratio "$WR" "$DR") |"
echo "| commit of 200 MB in 2,000 files | $WC | $DC | $PC | $(ratio "$WC" "$DC") |"
