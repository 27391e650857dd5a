#!/usr/bin/env bash
# Benchmark (run by hand, not a test): start latency of `run --rm busybox true` with moby's default seccomp profile
# (the default) and with `--security-opt seccomp=unconfined` (issue 17), on --network none and on the default
# bridge, the two variants taking turns within each round. Prints Markdown rows (medians).
# Usage: bash bench/seccomp.sh [runs=15]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench-seccomp.XXXXXX)
cleanup() {
  set +e
  grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
# One of each first: the init layer, the bridge, the profile cache.
W_ run --rm busybox true && W_ run --rm --security-opt seccomp=unconfined busybox true

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1 || echo "failed: $*" >&2; e=$(now); awk "BEGIN { print $e - $s }"; }

for net in none bridge; do
  : >"$W/filtered" && : >"$W/unconfined"
  for _ in $(seq 1 "$RUNS"); do
    time_it W_ run --rm --network "$net" busybox true >>"$W/filtered"
    time_it W_ run --rm --network "$net" --security-opt seccomp=unconfined busybox true >>"$W/unconfined"
  done
  f=$(median <"$W/filtered")
  u=$(median <"$W/unconfined")
  printf '| `run --rm --network %s busybox true` | %.3f | %.3f | %.2f |\n' "$net" "$u" "$f" "$(awk "BEGIN { print $f / $u }")"
done
