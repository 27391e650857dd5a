#!/usr/bin/env bash
# Benchmark (run by hand, not a test): the small verbs (`images`, `tag`, `rmi`, `inspect`, `ps -a`) of Wharf against
# the docker CLI talking to a private dockerd (Debian's docker.io), interleaved: each round runs every verb once with
# each tool, in turns, so that the machine's drift hits both alike. Also `node -e 0` in the same rounds: Node's own
# start-up, the floor under every Wharf command. Prints a Markdown table of medians (ms) with Wharf/docker ratios.
# Usage: bash bench/small-verbs.sh [rounds=15]   (needs a built checkout: `npm run build`)
# WHARF_BEFORE=/other/checkout/bin/wharf adds that build's times in the same rounds (a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
[ -f dist/wharf.cjs ] || npm run --silent build >/dev/null

W=$(mktemp -d /tmp/wharf-bench-verbs.XXXXXX)
DPID=""
. bench/private-dockerd.sh
trap remove_bench_dir EXIT
start_private_dockerd wharf-bench-verbs

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
B_() { "$WHARF_BEFORE" --root "$W/broot" "$@"; }
if [ -n "${WHARF_BEFORE:-}" ]; then
  B_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
  for i in 1 2 3; do B_ create --network none --name "c$i" busybox true >/dev/null; done
fi
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null
# A few containers for `ps -a` and `inspect` to list, as a user has (created, not running: no runc in the timing).
for i in 1 2 3; do W_ create --network none --name "c$i" busybox true >/dev/null; D create --network none --name "c$i" busybox true >/dev/null; done
NODE0() { env -u NODE_EXTRA_CA_CERTS node -e 0; }

# Each timed command's wall time and the CPU time (user + system) of its processes, in us, appended to T[key] and
# T_CPU[key]. On a loaded machine the wall time is mostly waiting for a core; the CPU time is what a change to Wharf
# moves (docker's leaves out dockerd's). The CPU time comes from the shell's own `times` (its reaped children).
declare -A T T_CPU
cpu_us() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000000 }' "$1"; }
ms() { # key cmd...: nothing but the command forks between the two snapshots
  local key=$1 s e
  shift
  times >"$W/t0"
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  e=$EPOCHREALTIME
  times >"$W/t1"
  T[$key]+="$(awk "BEGIN { printf \"%d\", ($e - $s) * 1000000 }") "
  T_CPU[$key]+="$(($(cpu_us "$W/t1") - $(cpu_us "$W/t0"))) "
}
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000}'; }
VERBS=(images tag rmi inspect ps)
run_verb() { # tool verb
  case $2 in
    images) "$1" images ;;
    tag) "$1" tag busybox bench-tag:1 ;;
    rmi) "$1" rmi bench-tag:1 ;; # untags the tag made just before (the image stays: busybox names it)
    inspect) "$1" inspect c1 ;;
    ps) "$1" ps -a ;;
  esac
}
for v in "${VERBS[@]}"; do run_verb W_ "$v" >/dev/null 2>&1 || true; run_verb D "$v" >/dev/null 2>&1 || true; done # warm caches
for _ in $(seq 1 "$RUNS"); do
  for v in "${VERBS[@]}"; do
    ms "w_$v" run_verb W_ "$v"
    ms "d_$v" run_verb D "$v"
    [ -n "${WHARF_BEFORE:-}" ] && ms "b_$v" run_verb B_ "$v"
  done
  ms node NODE0
done
med() { printf '%s\n' ${T[$1]} | median; }
cpu() { printf '%s\n' ${T_CPU[$1]} | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "Medians of $RUNS interleaved rounds; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Wall time (CPU time of the command's own processes in brackets), ms:"
echo
B=${WHARF_BEFORE:+ | before | before / docker}
echo "| verb | docker | wharf | wharf / docker | node -e 0$B |"
echo "|---|---|---|---|---|${B:+---|---|}"
N="$(med node) ($(cpu node))"
for v in "${VERBS[@]}"; do
  d=$(med "d_$v"); w=$(med "w_$v")
  b=""
  [ -n "${WHARF_BEFORE:-}" ] && b=" | $(med "b_$v") ($(cpu "b_$v")) | $(ratio "$(med "b_$v")" "$d")"
  echo "| \`$v\` | $d ($(cpu "d_$v")) | $w ($(cpu "w_$v")) | $(ratio "$w" "$d") | $N$b |"
done
