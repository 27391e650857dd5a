#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `run --rm busybox true` on the DEFAULT bridge network, and with a published
# port (`-p PORT:80`), Wharf (native: netlink and one iptables-restore, src/network/native-bridge.ts) against a private
# dockerd with its own bridge, iptables rules and userland proxy (Docker's defaults, in a network namespace of its
# own). They take turns, one start each per round, with `--network none` starts of both as the reference (what the
# network adds). Prints a Markdown table with ratios: wall-time medians, and the median CPU time (user + system) of
# Wharf's CLI process and what it waited for (the monitor and the container are not in it).
# WHARF_BEFORE=/other/checkout/bin/wharf adds that build's starts to the same rounds (a before/after comparison).
# Usage: bash bench/run-default-net.sh [runs=15]
RUNS=${1:-15}
. "$(dirname "$0")/net-common.sh"

B_() { "$WHARF_BEFORE" --root "$W/broot" "$@"; }
[ -n "${WHARF_BEFORE:-}" ] && B_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null

# Wall and CPU time of one command, in seconds: "wall cpu".
cpu_s() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.4f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
wall_cpu() {
  local s e
  times >"$W/t0"
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || echo "failed: $*" >&2
  e=$EPOCHREALTIME
  times >"$W/t1"
  echo "$(awk "BEGIN { print $e - $s }") $(awk "BEGIN { print $(cpu_s "$W/t1") - $(cpu_s "$W/t0") }")"
}

# Warm the page cache and create both bridges (and the chains) once.
TOOLS="W_ D${WHARF_BEFORE:+ B_}"
for t in $TOOLS; do "$t" run --rm busybox true >/dev/null; "$t" run --rm -p "$PORT:80" busybox true >/dev/null; done
declare -A WALL CPU
for _ in $(seq 1 "$RUNS"); do
  for c in none default publish; do
    for t in $TOOLS; do
      case $c in
        none) set -- --network none ;;
        default) set -- ;;
        publish) set -- -p "$PORT:80" ;;
      esac
      read -r w u < <(wall_cpu "$t" run --rm "$@" busybox true)
      WALL[$t$c]+="$w "
      CPU[$t$c]+="$u "
    done
  done
done
med() { printf '%s\n' $1 | median; }
B=${WHARF_BEFORE:+ | before (s) | before / docker}
echo "Median of $RUNS interleaved starts; host port $PORT; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | docker (s) | wharf (s) | wharf / docker$B | wharf CPU (s)${WHARF_BEFORE:+ | before CPU (s)} |"
echo "|---|---|---|---|---|${WHARF_BEFORE:+---|---|---|}"
for c in default publish none; do
  case $c in
    none) label='`run --rm --network none busybox true` (reference)' ;;
    default) label='`run --rm busybox true`, default network' ;;
    publish) label="\`run --rm -p $PORT:80 busybox true\`" ;;
  esac
  d=$(med "${WALL[D$c]}")
  w=$(med "${WALL[W_$c]}")
  line="| $label | $(printf '%.3f' "$d") | $(printf '%.3f' "$w") | $(ratio "$w" "$d")"
  if [ -n "${WHARF_BEFORE:-}" ]; then
    b=$(med "${WALL[B_$c]}")
    line+=" | $(printf '%.3f' "$b") | $(ratio "$b" "$d")"
  fi
  line+=" | $(printf '%.3f' "$(med "${CPU[W_$c]}")")"
  [ -n "${WHARF_BEFORE:-}" ] && line+=" | $(printf '%.3f' "$(med "${CPU[B_$c]}")")"
  echo "$line |"
done
