#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `pull` of 500 MB in 5 gzip layers from a local distribution registry (Debian's
# `docker-registry`, on loopback), Wharf's own `pull` against the docker CLI and a private dockerd, interleaved: each
# round removes the image from both and pulls it with each tool in turn, so the machine's drift hits both alike.
# Prints a Markdown row of medians with the CPU time of the client's own processes (dockerd's is not counted).
# Usage: bash bench/pull.sh [rounds=5] [MB per layer=100]   (needs a built checkout: `npm run build`)
# WHARF_BEFORE=/other/checkout/bin/wharf adds that build's times in the same rounds (a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
MB=${2:-100}
[ -f dist/wharf.cjs ] || npm run --silent build >/dev/null

W=$(mktemp -d /tmp/wharf-bench-pull.XXXXXX)
DPID=""
RPID=""
. bench/private-dockerd.sh
cleanup() {
  set +e
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  remove_bench_dir
}
trap cleanup EXIT
start_private_dockerd wharf-bench-pull

PORT=$((20000 + RANDOM % 20000))
cat >"$W/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
RPID=$!
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.5; done

W_() { ./bin/wharf --root "$W/wroot" "$@"; }
B_() { "$WHARF_BEFORE" --root "$W/broot" "$@"; }
IMG="127.0.0.1:$PORT/bench/pull:v1"

# Five layers of $MB MB each, in files of 2 MB of base64 text (compresses to about 3/4, as real layers do roughly).
mkdir -p "$W/ctx"
printf 'FROM scratch\n' >"$W/ctx/Dockerfile"
for l in 1 2 3 4 5; do
  mkdir -p "$W/ctx/l$l"
  for f in $(seq 1 $((MB / 2))); do head -c 1536000 /dev/urandom | base64 >"$W/ctx/l$l/f$f"; done
  printf 'COPY l%s /l%s\n' "$l" "$l" >>"$W/ctx/Dockerfile"
done
W_ build -q -t "$IMG" "$W/ctx" >/dev/null
W_ push "$IMG" >/dev/null
W_ rmi "$IMG" >/dev/null

declare -A T T_CPU
cpu_us() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000000 }' "$1"; }
ms() { # key cmd...
  local key=$1 s e
  shift
  times >"$W/t0"
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || echo "failed: $*" >&2
  e=$EPOCHREALTIME
  times >"$W/t1"
  T[$key]+="$(awk "BEGIN { printf \"%d\", ($e - $s) * 1000000 }") "
  T_CPU[$key]+="$(($(cpu_us "$W/t1") - $(cpu_us "$W/t0"))) "
}
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000000}'; }
for _ in $(seq 1 "$RUNS"); do
  W_ rmi "$IMG" >/dev/null 2>&1 || true
  D rmi "$IMG" >/dev/null 2>&1 || true
  [ -n "${WHARF_BEFORE:-}" ] && { B_ rmi "$IMG" >/dev/null 2>&1 || true; }
  sync
  ms w W_ pull "$IMG"
  ms d D pull "$IMG"
  [ -n "${WHARF_BEFORE:-}" ] && ms b B_ pull "$IMG"
done
med() { printf '%s\n' ${T[$1]} | median; }
cpu() { printf '%s\n' ${T_CPU[$1]} | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "pull of $((5 * MB)) MB in 5 gzip layers; medians of $RUNS interleaved rounds; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
B=${WHARF_BEFORE:+ | before | before / docker}
echo "| workload | docker | wharf | wharf / docker$B |"
echo "|---|---|---|---|${B:+---|---|}"
b=""
[ -n "${WHARF_BEFORE:-}" ] && b=" | $(med b) s (cpu $(cpu b)) | $(ratio "$(med b)" "$(med d)")"
echo "| \`pull\` | $(med d) s (cpu $(cpu d)) | $(med w) s (cpu $(cpu w)) | $(ratio "$(med w)" "$(med d)")$b |"
