#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `commit` of a stopped container that wrote 200 MB in 2,000 files (100 KB of
# random data each), Wharf vs `docker commit` on a private dockerd, interleaved (the tools take turns each round; a
# `sync` before each commit so neither pays for the other's write-back). Prints a Markdown table of medians, of wall
# time and of CPU time (see time_it).
# Usage: bash bench/commit.sh [runs=5]   (BENCH_NO_SETUP=1 skips ensure-deps and the build;
# WHARF_BEFORE=/path/to/other/bin/wharf adds another Wharf build to the same rounds, for before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
if [ "${BENCH_NO_SETUP:-}" != 1 ]; then
  bash scripts/ensure-deps.sh >/dev/null
  npm run --silent build >/dev/null
fi

W=$(mktemp -d /tmp/wharf-bench-commit.XXXXXX)
DPID=""
. bench/private-dockerd.sh
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
B_() { "$WHARF_BEFORE" --root "$W/wroot" "$@"; }
cleanup() {
  set +e
  W_ rm -f bench-writer >/dev/null 2>&1
  remove_bench_dir
}
trap cleanup EXIT
start_private_dockerd wharf-bench-commit

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp" "$W/rootfs/data"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true head seq; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# Wall seconds of a command; its CPU seconds (user + system, all threads) go to the file $CPU_OUT: for wharf the
# process's own, for docker the CLI's plus dockerd's (with the untar child it reaps) over the same time. CPU time
# moves less than wall time when other work shares the cores.
CPU_OUT="$W/cpu"
dockerd_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$DPID/stat"; }
time_it() {
  local s e d0 d1
  d0=$(dockerd_ticks)
  s=$(now)
  local TIMEFORMAT='%U %S'
  if ! { time "$@" >/dev/null 2>&1; } 2>"$CPU_OUT.cli"; then echo "FAILED: $*" >&2; fi
  e=$(now)
  d1=$(dockerd_ticks)
  if [ "$1" = D ]; then
    tail -1 "$CPU_OUT.cli" | awk -v d=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" '{ print $1 + $2 + d / hz }' >"$CPU_OUT"
  else
    tail -1 "$CPU_OUT.cli" | awk '{ print $1 + $2 }' >"$CPU_OUT"
  fi
  awk "BEGIN { print $e - $s }"
}

WRITE='i=0; while [ $i -lt 2000 ]; do head -c 100000 /dev/urandom > /data/f$i; i=$((i+1)); done'
commit_round() {
  local tool=$1 t
  "$tool" rm -f bench-writer >/dev/null 2>&1 || true
  "$tool" run --name bench-writer --network none busybox sh -c "$WRITE" >/dev/null
  sync
  t=$(time_it "$tool" commit bench-writer bench-committed:1)
  "$tool" rm -f bench-writer >/dev/null
  "$tool" rmi bench-committed:1 >/dev/null 2>&1 || true
  sync
  echo "$t $(cat "$CPU_OUT")"
}
WT=(); DT=(); BT=(); WC=(); DC=(); BC=()
for _ in $(seq 1 "$RUNS"); do
  read -r t c < <(commit_round W_) && WT+=("$t") && WC+=("$c")
  read -r t c < <(commit_round D) && DT+=("$t") && DC+=("$c")
  if [ -n "${WHARF_BEFORE:-}" ]; then read -r t c < <(commit_round B_) && BT+=("$t") && BC+=("$c"); fi
done
med() { printf '%s\n' "$@" | median; }
WM=$(med "${WT[@]}"); DM=$(med "${DT[@]}"); WCM=$(med "${WC[@]}"); DCM=$(med "${DC[@]}")
r() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "commit of 200 MB in 2,000 files; median of $RUNS rounds; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tool | time (s) | time / docker (lower is better) | CPU (s) | CPU / docker | all rounds (time) |"
echo "|---|---|---|---|---|---|"
echo "| docker commit (CLI + dockerd) | $DM | 1.00 | $DCM | 1.00 | ${DT[*]} |"
echo "| wharf commit | $WM | $(r "$WM" "$DM") | $WCM | $(r "$WCM" "$DCM") | ${WT[*]} |"
if [ -n "${WHARF_BEFORE:-}" ]; then
  BM=$(med "${BT[@]}"); BCM=$(med "${BC[@]}")
  echo "| before: $WHARF_BEFORE commit | $BM | $(r "$BM" "$DM") | $BCM | $(r "$BCM" "$DCM") | ${BT[*]} |"
fi
