# Sourced by the network bench scripts: the work dir $W, a private dockerd with Docker's default networking (in a
# network namespace of its own), a busybox image loaded into both, W_ (wharf) and D (docker), a free host port in
# PORT, and the timing helpers. BENCH_NO_SETUP=1 skips ensure-deps and the build (a worktree that shares
# another checkout's node_modules must not run ensure-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BENCH_NO_SETUP:-}" != 1 ]; then
  bash scripts/ensure-deps.sh >/dev/null
  npm run --silent build >/dev/null
fi

W=$(mktemp -d /tmp/wharf-bench-net.XXXXXX)
DPID=""
. bench/private-dockerd.sh
trap remove_bench_dir EXIT

start_private_dockerd_bridged "wharf-bench-net-$$"

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true sleep nslookup; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
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
m() { printf '%s\n' "$@" | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
row() { printf '| %s | %.3f | %.3f | %s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"; } # label, docker, wharf
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
header() { # what was measured, [unit=s]
  echo "$1; $(nproc) cores; $(date -u +%Y-%m-%d); load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| case | docker (${2:-s}) | wharf (${2:-s}) | wharf / docker |"
  echo "|---|---|---|---|"
}
