#!/usr/bin/env bash
# Benchmark (run by hand, not a test): start latency of `run --rm busybox true` with and without --userns=auto
# (issue 17: idmapped layers, no copies; target at most 1.2x), on --network none and on the default bridge, the two
# variants taking turns within each round. Prints Markdown rows (medians). Needs a `wharf` line in /etc/subuid and
# /etc/subgid (docs/security.md); adds one for the run if there is none, and removes it again.
# Usage: bash bench/userns.sh [runs=15]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench-userns.XXXXXX)
ADDED=""
cleanup() {
  set +e
  grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$W"
  for f in $ADDED; do sed -i '/^wharf:1000000:10000000$/d' "$f"; done
}
trap cleanup EXIT
for f in /etc/subuid /etc/subgid; do
  if ! grep -q '^wharf:' "$f" 2>/dev/null; then echo 'wharf:1000000:10000000' >>"$f"; ADDED="$ADDED $f"; fi
done

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
chmod 711 "$W"
# One of each first: the init layer, the idmap probe, the bridge.
W_ run --rm busybox true && W_ run --rm --userns=auto busybox true

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1 || echo "failed: $*" >&2; e=$(now); awk "BEGIN { print $e - $s }"; }

for net in none bridge; do
  : >"$W/plain" && : >"$W/auto"
  for _ in $(seq 1 "$RUNS"); do
    time_it W_ run --rm --network "$net" busybox true >>"$W/plain"
    time_it W_ run --rm --network "$net" --userns=auto busybox true >>"$W/auto"
  done
  p=$(median <"$W/plain")
  a=$(median <"$W/auto")
  printf '| `run --rm --network %s busybox true` | %.3f | %.3f | %.2f |\n' "$net" "$p" "$a" "$(awk "BEGIN { print $a / $p }")"
done
