#!/usr/bin/env bash
# Benchmark (run by hand, not a test): name lookup latency inside a container on a user-defined network (issue 14:
# at most docker's embedded DNS). A container named `peer` runs on the network; another one runs LOOKUPS busybox
# `nslookup peer` in a loop (each a new process and one query to the resolver: aardvark-dns on the gateway for
# Wharf, 127.0.0.11 for docker). The loop's time inside the container is measured (the container's start is not in
# it), ROUNDS times per tool, interleaved. Prints a Markdown table of the time per lookup (ms).
# Usage: bash bench/dns-lookup.sh [rounds=3] [lookups=1000]
ROUNDS=${1:-3}
LOOKUPS=${2:-1000}
. "$(dirname "$0")/net-common.sh"

NET="benchdns$$"
W_ network create "$NET" >/dev/null
D network create "$NET" >/dev/null
cleanup_dns() {
  W_ rm -f peer >/dev/null 2>&1 || true
  W_ network rm "$NET" >/dev/null 2>&1 || true
  remove_bench_dir
}
trap cleanup_dns EXIT
for t in W_ D; do "$t" run -d --name peer --network "$NET" busybox sleep 3600 >/dev/null; done
# The loop prints its own elapsed time (busybox date has no %N: /proc/uptime, 10 ms resolution over seconds).
LOOP="n=0; fail=0; s=\$(cut -d' ' -f1 /proc/uptime); while [ \$n -lt $LOOKUPS ]; do nslookup peer >/dev/null 2>&1 || fail=\$((fail+1)); n=\$((n+1)); done; e=\$(cut -d' ' -f1 /proc/uptime); echo \$s \$e \$fail"
per_lookup() { # tool → ms per lookup
  local out
  out=$("$1" run --rm --network "$NET" busybox sh -c "$LOOP" | tail -1)
  set -- $out
  [ "$3" = 0 ] || echo "warning: $3 of $LOOKUPS lookups failed" >&2
  awk "BEGIN { print ($2 - $1) * 1000 / $LOOKUPS }"
}
declare -a WL DL
for _ in $(seq 1 "$ROUNDS"); do
  WL+=("$(per_lookup W_)")
  DL+=("$(per_lookup D)")
done
D rm -f peer >/dev/null 2>&1 || true
header "Median of $ROUNDS interleaved rounds of $LOOKUPS \`nslookup peer\` inside a container, per lookup (process start included)" ms
printf '| %s | %.2f | %.2f | %s |\n' "\`nslookup\` of a container's name, user-defined network" "$(m "${DL[@]}")" "$(m "${WL[@]}")" "$(ratio "$(m "${WL[@]}")" "$(m "${DL[@]}")")"
