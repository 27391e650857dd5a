# Sourced by the bench scripts: a private dockerd (Debian's docker.io) whose data, exec root and socket live in the
# bench's work dir $W, as the comparison peer; and removal of that dir, mounts first. The scripts set W and a trap.

# start_private_dockerd CONTAINERD_NAMESPACE: start it (PID in DPID), wait until it answers (up to 30 s).
start_private_dockerd() {
  dockerd --data-root "$W/docker" --exec-root "$W/dexec" -H "unix://$W/d.sock" --pidfile "$W/d.pid" \
    --bridge=none --iptables=false --ip6tables=false --containerd-namespace "$1" --containerd-plugins-namespace "$1-p" \
    >"$W/dockerd.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 60); do D version >/dev/null 2>&1 && break; sleep 0.5; done
}

# start_private_dockerd_bridged CONTAINERD_NAMESPACE: the same with Docker's defaults for networking (its docker0
# bridge, iptables rules, userland proxy), in a network namespace of its own (`unshare -n`) so that its bridge and
# rules never meet the host's; they go with the namespace when dockerd ends. For the default-network benchmarks.
start_private_dockerd_bridged() {
  unshare -n dockerd --data-root "$W/docker" --exec-root "$W/dexec" -H "unix://$W/d.sock" --pidfile "$W/d.pid" \
    --containerd-namespace "$1" --containerd-plugins-namespace "$1-p" >"$W/dockerd.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 60); do D version >/dev/null 2>&1 && break; sleep 0.5; done
}

# The docker CLI against it.
D() { docker -H "unix://$W/d.sock" "$@"; }

# Stop it (by PID) and remove $W with whatever is still mounted under it.
remove_bench_dir() {
  [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && sleep 3
  grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$W"
}
