#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `run --rm --network NET busybox true` on a user-defined bridge network (issue
# 14: at most docker's time), Wharf (native attach, src/network/endpoint.ts) against a private dockerd's user network
# (its own namespace), taking turns one start each per round. Prints a Markdown table.
# Usage: bash bench/run-user-net.sh [runs=15]
RUNS=${1:-15}
. "$(dirname "$0")/net-common.sh"

NET="benchnet$$"
W_ network create "$NET" >/dev/null
D network create "$NET" >/dev/null
cleanup_net() { W_ network rm "$NET" >/dev/null 2>&1 || true; remove_bench_dir; }
trap cleanup_net EXIT
for t in W_ D; do "$t" run --rm --network "$NET" busybox true >/dev/null; done # warm
declare -a WU DU
for _ in $(seq 1 "$RUNS"); do
  WU+=("$(time_it W_ run --rm --network "$NET" busybox true)")
  DU+=("$(time_it D run --rm --network "$NET" busybox true)")
done
header "Median of $RUNS interleaved starts on a user-defined network"
row '`run --rm --network NET busybox true`, user-defined network' "$(m "${DU[@]}")" "$(m "${WU[@]}")"
