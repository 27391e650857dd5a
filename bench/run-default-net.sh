#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `run --rm busybox true` on the DEFAULT bridge network, and with a published
# port (`-p PORT:80`), Wharf against a private dockerd with its own bridge, iptables rules and userland proxy (Docker's
# defaults, in a network namespace of its own). Wharf runs both ways its bridge can be joined: through the CNI
# plugins (today's default) and natively (WHARF_NET_NATIVE=1: netlink and one iptables-restore, src/network/
# native-bridge.ts). The three take turns, one start each per round, with `--network none` starts of Wharf and docker
# as the reference (what the network adds). Prints a Markdown table with ratios.
# Usage: bash bench/run-default-net.sh [runs=15]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
bash scripts/ensure-deps.sh >/dev/null
npm run --silent build >/dev/null

W=$(mktemp -d /tmp/wharf-bench-net.XXXXXX)
DPID=""
. bench/private-dockerd.sh
trap remove_bench_dir EXIT

start_private_dockerd_bridged wharf-bench-net

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
WN() { WHARF_NET_NATIVE=1 ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null

# The host port: 8080 unless something on this shared machine holds it (docker's is in its own namespace).
PORT=8080
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! iptables -w -t nat -S 2>/dev/null | grep -q -- "--dport $1 "; }
while ! port_free "$PORT"; do PORT=$((PORT + 1)); done

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1 || echo "failed: $*" >&2; e=$(now); awk "BEGIN { print $e - $s }"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# Warm the page cache and create both bridges (and the chains) once.
for t in W_ WN D; do "$t" run --rm busybox true >/dev/null; "$t" run --rm -p "$PORT:80" busybox true >/dev/null; done
declare -a WC WNC DC WP WNP DP W0 D0
for _ in $(seq 1 "$RUNS"); do
  W0+=("$(time_it W_ run --rm --network none busybox true)") # the reference: no network at all
  D0+=("$(time_it D run --rm --network none busybox true)")
  WC+=("$(time_it W_ run --rm busybox true)")
  WNC+=("$(time_it WN run --rm busybox true)")
  DC+=("$(time_it D run --rm busybox true)")
  WP+=("$(time_it W_ run --rm -p "$PORT:80" busybox true)")
  WNP+=("$(time_it WN run --rm -p "$PORT:80" busybox true)")
  DP+=("$(time_it D run --rm -p "$PORT:80" busybox true)")
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
m() { printf '%s\n' "$@" | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
row() { # label, docker, wharf-cni, wharf-native
  printf '| %s | %.3f | %.3f | %.3f | %s | %s |\n' "$1" "$2" "$3" "$4" "$(ratio "$3" "$2")" "$(ratio "$4" "$2")"
}
D_C=$(m "${DC[@]}"); W_C=$(m "${WC[@]}"); N_C=$(m "${WNC[@]}")
D_P=$(m "${DP[@]}"); W_P=$(m "${WP[@]}"); N_P=$(m "${WNP[@]}")
D_0=$(m "${D0[@]}"); W_0=$(m "${W0[@]}")
echo "Median of $RUNS interleaved starts; $(nproc) cores; $(date -u +%Y-%m-%d); load average before/after: $LOAD_BEFORE / $LOAD_AFTER; host port $PORT"
echo
echo "| case | docker (s) | wharf, CNI (s) | wharf, native (s) | CNI / docker | native / docker |"
echo "|---|---|---|---|---|---|"
row '`run --rm busybox true`, default network' "$D_C" "$W_C" "$N_C"
row "\`run --rm -p $PORT:80 busybox true\`" "$D_P" "$W_P" "$N_P"
printf '| %s | %.3f | %.3f | (same) | %s | |\n' '`run --rm --network none busybox true` (reference)' "$D_0" "$W_0" "$(ratio "$W_0" "$D_0")"
