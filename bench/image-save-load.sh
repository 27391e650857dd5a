#!/usr/bin/env bash
# Benchmark (run by hand, not a test): load and save of a ~500 MB five-layer image, Wharf vs docker (a private
# dockerd from Debian's docker.io) vs skopeo, in one run on this machine. Prints a Markdown table with ratios.
# Usage: bash bench/image-save-load.sh [runs=3] [layer MB=100]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
MB=${2:-100}
bash scripts/ensure-deps.sh >/dev/null
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench.XXXXXX)
DPID=""
. bench/private-dockerd.sh
trap remove_bench_dir EXIT

start_private_dockerd wharf-bench

# The test image: a busybox base plus five layers of incompressible data, built by docker itself.
mkdir -p "$W/ctx"
mkdir -p "$W/rootfs/bin" && cp /bin/busybox "$W/rootfs/bin/" && ln -s busybox "$W/rootfs/bin/sh"
tar -C "$W/rootfs" -cf "$W/base.tar" .
D import "$W/base.tar" bench-base:1 >/dev/null
{ echo "FROM bench-base:1"; for i in 1 2 3 4 5; do head -c $((MB * 1000 * 1000)) /dev/urandom > "$W/ctx/l$i.bin"; echo "COPY l$i.bin /data/"; done; } > "$W/ctx/Dockerfile"
D build -q -t bench:1 "$W/ctx" >/dev/null
D save -o "$W/image.tar" bench:1
SIZE=$(du -b "$W/image.tar" | cut -f1)

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk "BEGIN { print $e - $s }"; }

declare -A T
for r in $(seq 1 "$RUNS"); do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  D rmi -f bench:1 >/dev/null 2>&1 || true
  T[docker_load]+="$(time_it D load -i "$W/image.tar") "
  T[docker_save]+="$(time_it D save -o "$W/docker-out.tar" bench:1) "
  rm -rf "$W/wroot"
  T[wharf_load]+="$(time_it ./bin/wharf --root "$W/wroot" load -i "$W/image.tar") "
  T[wharf_save]+="$(time_it ./bin/wharf --root "$W/wroot" save -o "$W/wharf-out.tar" bench:1) "
  rm -rf "$W/oci"
  T[skopeo_copy]+="$(time_it skopeo copy --quiet "docker-archive:$W/image.tar" "oci:$W/oci:bench") "
done
med() { echo "${T[$1]}" | tr ' ' '\n' | grep . | median; }
DL=$(med docker_load); DS=$(med docker_save); WL=$(med wharf_load); WS=$(med wharf_save); SC=$(med skopeo_copy)
echo
echo "Image: 5 layers x ${MB} MB random + busybox base; archive $((SIZE / 1000000)) MB; median of $RUNS runs; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| operation | wharf (s) | docker (s) | wharf / docker | skopeo copy to OCI dir (s) |"
echo "|---|---|---|---|---|"
printf '| load | %.2f | %.2f | %.2f | %.2f |\n' "$WL" "$DL" "$(awk "BEGIN { print $WL / $DL }")" "$SC"
printf '| save | %.2f | %.2f | %.2f | |\n' "$WS" "$DS" "$(awk "BEGIN { print $WS / $DS }")"
