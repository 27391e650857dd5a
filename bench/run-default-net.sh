#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `run --rm busybox true` on the DEFAULT bridge network, and with a published
# port (`-p PORT:80`), Wharf (native: netlink and one iptables-restore, src/network/native-bridge.ts) against a private
# dockerd with its own bridge, iptables rules and userland proxy (Docker's defaults, in a network namespace of its
# own). They take turns, one start each per round, with `--network none` starts of both as the reference (what the
# network adds). Prints a Markdown table with ratios.
# Usage: bash bench/run-default-net.sh [runs=15]
RUNS=${1:-15}
. "$(dirname "$0")/net-common.sh"

# Warm the page cache and create both bridges (and the chains) once.
for t in W_ D; do "$t" run --rm busybox true >/dev/null; "$t" run --rm -p "$PORT:80" busybox true >/dev/null; done
declare -a WC DC WP DP W0 D0
for _ in $(seq 1 "$RUNS"); do
  W0+=("$(time_it W_ run --rm --network none busybox true)") # the reference: no network at all
  D0+=("$(time_it D run --rm --network none busybox true)")
  WC+=("$(time_it W_ run --rm busybox true)")
  DC+=("$(time_it D run --rm busybox true)")
  WP+=("$(time_it W_ run --rm -p "$PORT:80" busybox true)")
  DP+=("$(time_it D run --rm -p "$PORT:80" busybox true)")
done
header "Median of $RUNS interleaved starts; host port $PORT"
row '`run --rm busybox true`, default network' "$(m "${DC[@]}")" "$(m "${WC[@]}")"
row "\`run --rm -p $PORT:80 busybox true\`" "$(m "${DP[@]}")" "$(m "${WP[@]}")"
row '`run --rm --network none busybox true` (reference)' "$(m "${D0[@]}")" "$(m "${W0[@]}")"
