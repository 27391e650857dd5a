#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `rm -f` of a running container, and `stop -t 1` of a container whose process
# ignores SIGTERM (a shell's `sleep` as PID 1: the kernel gives PID 1 no default action for it), Wharf against the
# docker CLI with a private dockerd (Debian's docker.io), interleaved (one each per round). Both on `--network none`:
# the private dockerd runs without a bridge (bench/private-dockerd.sh); Wharf's default bridge network is timed as
# well, in its own column. Prints a Markdown table of medians (s) with Wharf/docker ratios.
# Usage: bash bench/rm.sh [rounds=7]   (needs a built checkout: `npm run build`)
# WHARF_BEFORE=/other/checkout/bin/wharf adds that build's times in the same rounds (a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-7}
[ -f dist/wharf.cjs ] || npm run --silent build >/dev/null

W=$(mktemp -d /tmp/wharf-bench-rm.XXXXXX)
DPID=""
. bench/private-dockerd.sh
cleanup() {
  set +e
  ./bin/wharf --root "$W/wroot" rm -f bench-rm bench-rm-net bench-stop >/dev/null 2>&1
  [ -n "${WHARF_BEFORE:-}" ] && "$WHARF_BEFORE" --root "$W/broot" rm -f bench-rm bench-stop >/dev/null 2>&1
  remove_bench_dir
}
trap cleanup EXIT
start_private_dockerd wharf-bench-rm

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
B_() { "$WHARF_BEFORE" --root "$W/broot" "$@"; }
[ -n "${WHARF_BEFORE:-}" ] && B_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk "BEGIN { print $e - $s }"; }
rm_round() { # tool name [run flags...]: start a container (untimed), then time its rm -f
  local tool=$1 name=$2; shift 2
  "$tool" run -d --name "$name" "$@" busybox sleep 1000 >/dev/null
  time_it "$tool" rm -f "$name"
}
stop_round() { # tool: a container that ignores SIGTERM, stopped with a 1 s timeout (untimed start, rm after)
  "$1" run -d --network none --name bench-stop busybox sleep 1000 >/dev/null
  time_it "$1" stop -t 1 bench-stop
  "$1" rm -f bench-stop >/dev/null
}
WR=(); DR=(); WN=(); WS=(); DS=(); BR=(); BS=()
for _ in $(seq 1 "$RUNS"); do
  if [ -n "${WHARF_BEFORE:-}" ]; then
    BR+=("$(rm_round B_ bench-rm --network none)")
    BS+=("$(stop_round B_)")
  fi
  WR+=("$(rm_round W_ bench-rm --network none)")
  DR+=("$(rm_round D bench-rm --network none)")
  WN+=("$(rm_round W_ bench-rm-net)")
  WS+=("$(stop_round W_)")
  DS+=("$(stop_round D)")
done
m() { printf '%s\n' "$@" | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "Medians of $RUNS interleaved rounds; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| workload | docker (s) | wharf (s) | wharf / docker |"
echo "|---|---|---|---|"
echo "| \`rm -f\` of a running container, \`--network none\` | $(m "${DR[@]}") | $(m "${WR[@]}") | $(ratio "$(m "${WR[@]}")" "$(m "${DR[@]}")") |"
echo "| \`rm -f\` of a running container, Wharf's default bridge network | n/a | $(m "${WN[@]}") | |"
echo "| \`stop -t 1\` of a container that ignores SIGTERM | $(m "${DS[@]}") | $(m "${WS[@]}") | $(ratio "$(m "${WS[@]}")" "$(m "${DS[@]}")") |"
if [ -n "${WHARF_BEFORE:-}" ]; then
  echo "| \`rm -f\`, \`--network none\`, $WHARF_BEFORE | $(m "${DR[@]}") | $(m "${BR[@]}") | $(ratio "$(m "${BR[@]}")" "$(m "${DR[@]}")") |"
  echo "| \`stop -t 1\`, $WHARF_BEFORE | $(m "${DS[@]}") | $(m "${BS[@]}") | $(ratio "$(m "${BS[@]}")" "$(m "${DS[@]}")") |"
fi
