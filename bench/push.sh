#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `push` of a ~500 MB five-layer image (busybox + 5 x 100 MB random, built by
# docker) to distribution (Debian's `docker-registry`, filesystem store, loopback), `wharf push` (gzip, the default;
# and --compression-format zstd) against `docker push` from a private dockerd, interleaved: each round starts an empty
# registry and the tools take turns pushing to it, so nothing is already there and every layer is compressed.
# Prints a Markdown table of medians with throughput ratios.
# Usage: bash bench/push.sh [runs=3] [layer MB=100]   (BENCH_NO_SETUP=1 skips ensure-deps and the build;
# WHARF_BEFORE=/path/to/other/bin/wharf adds another Wharf build's gzip and zstd pushes to the same rounds, for before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
MB=${2:-100}
if [ "${BENCH_NO_SETUP:-}" != 1 ]; then
  bash scripts/ensure-deps.sh >/dev/null
  npm run --silent build >/dev/null
fi

W=$(mktemp -d /tmp/wharf-bench-push.XXXXXX)
DPID=""
RPID=""
. bench/private-dockerd.sh
cleanup() {
  set +e
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
  remove_bench_dir
}
trap cleanup EXIT
start_private_dockerd wharf-bench-push

mkdir -p "$W/ctx" "$W/rootfs/bin" && cp /bin/busybox "$W/rootfs/bin/" && ln -s busybox "$W/rootfs/bin/sh"
tar -C "$W/rootfs" -cf "$W/base.tar" .
D import "$W/base.tar" bench-base:1 >/dev/null
{ echo "FROM bench-base:1"; for i in 1 2 3 4 5; do head -c $((MB * 1000 * 1000)) /dev/urandom > "$W/ctx/l$i.bin"; echo "COPY l$i.bin /data/"; done; } > "$W/ctx/Dockerfile"
D build -q -t bench:1 "$W/ctx" >/dev/null
D save -o "$W/image.tar" bench:1
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ load -i "$W/image.tar" >/dev/null
rm -f "$W/image.tar" "$W"/ctx/*.bin

PORT=$((20000 + RANDOM % 20000))
R=127.0.0.1:$PORT
# An empty registry on the same port each round (dockerd and wharf both treat 127.0.0.0/8 as insecure).
fresh_registry() {
  if [ -n "$RPID" ]; then kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null || true; fi
  rm -rf "$W/reg"; mkdir -p "$W/reg"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$W/reg/data" "$R" > "$W/reg/config.yml"
  docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
  RPID=$!
  for _ in $(seq 1 100); do curl -fs "http://$R/v2/" >/dev/null && return; sleep 0.1; done
  echo "registry did not start" >&2; exit 1
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; e=$(now); awk "BEGIN { print $e - $s }"; }

D tag bench:1 "$R/bench/img:1"
W_ tag bench:1 "$R/bench/img:1"
B_() { "$WHARF_BEFORE" --root "$W/wroot" "$@"; }
WG=(); WZ=(); DT=(); BG=(); BZ=()
for r in $(seq 1 "$RUNS"); do
  fresh_registry; sync; DT+=("$(time_it D push "$R/bench/img:1")")
  fresh_registry; sync; WG+=("$(time_it W_ push "$R/bench/img:1")")
  fresh_registry; sync; WZ+=("$(time_it W_ push --compression-format zstd "$R/bench/img:1")")
  if [ -n "${WHARF_BEFORE:-}" ]; then
    fresh_registry; sync; BG+=("$(time_it B_ push "$R/bench/img:1")")
    fresh_registry; sync; BZ+=("$(time_it B_ push --compression-format zstd "$R/bench/img:1")")
  fi
done
DM=$(printf '%s\n' "${DT[@]}" | median)
WGM=$(printf '%s\n' "${WG[@]}" | median)
WZM=$(printf '%s\n' "${WZ[@]}" | median)
x() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "Push of 5 x ${MB} MB random + busybox to docker-registry on loopback; median of $RUNS rounds (a fresh registry each);"
echo "$(nproc) cores; $(date -u '+%Y-%m-%d %H:%M'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| push | time (s) | throughput vs docker (higher is better) |"
echo "|---|---|---|"
echo "| docker push (gzip) | $DM | 1.00 |"
echo "| wharf push (gzip, level 3) | $WGM | $(x "$DM" "$WGM") |"
echo "| wharf push --compression-format zstd (level 3) | $WZM | $(x "$DM" "$WZM") |"
if [ -n "${WHARF_BEFORE:-}" ]; then
  BGM=$(printf '%s\n' "${BG[@]}" | median)
  BZM=$(printf '%s\n' "${BZ[@]}" | median)
  echo "| before: $WHARF_BEFORE push (gzip) | $BGM | $(x "$DM" "$BGM") |"
  echo "| before: $WHARF_BEFORE push --compression-format zstd | $BZM | $(x "$DM" "$BZM") |"
fi
