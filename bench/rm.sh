#!/usr/bin/env bash
# Benchmark (run by hand, not a test): `rm -f` of a running container, Wharf against the docker CLI with a private
# dockerd (Debian's docker.io) that has Docker's default networking (its own bridge, iptables rules and userland
# proxy, in a network namespace of its own: bench/net-common.sh), on what users get by default: the default bridge
# network, and with a published port (`-p PORT:80`, as the tutorial's web container); with `--network none` for both
# as the reference; and `stop -t 1` of a container whose process ignores SIGTERM (a shell's `sleep` as PID 1: the
# kernel gives PID 1 no default action for it). The tools take turns, one command each per round; each container is
# started untimed, then its `rm -f` (or `stop`) is timed. Prints a Markdown table of medians (s) with ratios.
# At the end every Wharf container the rounds started is checked for what its removal must release (its network
# namespace, veth, port rules); Wharf's default bridge (wharf0) and its static chains are shared by every Wharf root
# on the host and stay, as after any `wharf run`. docker's bridge and rules go with dockerd's namespace.
# Usage: bash bench/rm.sh [rounds=7]   (BENCH_NO_SETUP=1 in a worktree sharing node_modules: net-common.sh)
# WHARF_BEFORE=/other/checkout/bin/wharf adds that build's times in the same rounds (a before/after comparison).
RUNS=${1:-7}
. "$(dirname "$0")/net-common.sh"

B_() { "$WHARF_BEFORE" --root "$W/broot" "$@"; }
[ -n "${WHARF_BEFORE:-}" ] && B_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
cleanup() {
  set +e
  W_ rm -f bench-rm bench-stop >/dev/null 2>&1
  [ -n "${WHARF_BEFORE:-}" ] && B_ rm -f bench-rm bench-stop >/dev/null 2>&1
  D rm -f bench-rm bench-stop >/dev/null 2>&1
  remove_bench_dir
}
trap cleanup EXIT

rm_round() { # tool [run flags...]: start a container (untimed; Wharf's ID kept for the leftover check), time its rm -f
  local tool=$1 id
  shift
  id=$("$tool" run -d --name bench-rm "$@" busybox sleep 1000)
  [ "$tool" = D ] || echo "$id" >>"$W/wharf-ids"
  time_it "$tool" rm -f bench-rm
}
stop_round() { # tool: a container that ignores SIGTERM, stopped with a 1 s timeout (untimed start, rm after)
  "$1" run -d --network none --name bench-stop busybox sleep 1000 >/dev/null
  time_it "$1" stop -t 1 bench-stop
  "$1" rm -f bench-stop >/dev/null
}

# Warm the page cache and create both default bridges (and the chains) once.
for t in W_ D ${WHARF_BEFORE:+B_}; do "$t" run --rm -p "$PORT:80" busybox true >/dev/null; done
declare -a DN WN BN DB WB BB DP WP BP DS WS BS
for _ in $(seq 1 "$RUNS"); do
  DB+=("$(rm_round D)")
  WB+=("$(rm_round W_)")
  [ -n "${WHARF_BEFORE:-}" ] && BB+=("$(rm_round B_)")
  DP+=("$(rm_round D -p "$PORT:80")")
  WP+=("$(rm_round W_ -p "$PORT:80")")
  [ -n "${WHARF_BEFORE:-}" ] && BP+=("$(rm_round B_ -p "$PORT:80")")
  DN+=("$(rm_round D --network none)")
  WN+=("$(rm_round W_ --network none)")
  [ -n "${WHARF_BEFORE:-}" ] && BN+=("$(rm_round B_ --network none)")
  DS+=("$(stop_round D)")
  WS+=("$(stop_round W_)")
  [ -n "${WHARF_BEFORE:-}" ] && BS+=("$(stop_round B_)")
done

header "Medians of $RUNS interleaved rounds; host port $PORT"
row '`rm -f` of a running container, default bridge network' "$(m "${DB[@]}")" "$(m "${WB[@]}")"
row "\`rm -f\` of a running container with \`-p $PORT:80\`" "$(m "${DP[@]}")" "$(m "${WP[@]}")"
row '`rm -f` of a running container, `--network none`' "$(m "${DN[@]}")" "$(m "${WN[@]}")"
row '`stop -t 1` of a container that ignores SIGTERM' "$(m "${DS[@]}")" "$(m "${WS[@]}")"
if [ -n "${WHARF_BEFORE:-}" ]; then
  row "\`rm -f\`, default bridge network, $WHARF_BEFORE" "$(m "${DB[@]}")" "$(m "${BB[@]}")"
  row "\`rm -f\` with \`-p $PORT:80\`, $WHARF_BEFORE" "$(m "${DP[@]}")" "$(m "${BP[@]}")"
  row "\`rm -f\`, \`--network none\`, $WHARF_BEFORE" "$(m "${DN[@]}")" "$(m "${BN[@]}")"
  row "\`stop -t 1\`, $WHARF_BEFORE" "$(m "${DS[@]}")" "$(m "${BS[@]}")"
fi

# What each removed Wharf container must not have left on the host (src/network/leftovers.ts names the same parts).
nat=$(iptables -w -t nat -S 2>/dev/null || true)
filter=$(iptables -w -S 2>/dev/null || true)
left=0
while read -r id; do
  veth="wv$(printf '%s' "$id/eth0" | sha256sum | cut -c1-11)"
  [ -e "/var/run/netns/wharf-$id" ] && echo "leftover: network namespace wharf-$id" >&2 && left=1
  ip link show "$veth" >/dev/null 2>&1 && echo "leftover: veth $veth of $id" >&2 && left=1
  grep -q -- "wharf:$id" <<<"$nat$filter" && echo "leftover: iptables rules of $id" >&2 && left=1
done <"$W/wharf-ids"
echo
echo "Leftovers of the $(wc -l <"$W/wharf-ids") removed Wharf containers: $([ "$left" = 0 ] && echo none || echo 'see above')"
exit "$left"
