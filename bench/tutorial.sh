#!/usr/bin/env bash
# Benchmark (run by hand, not a test): the tutorial exercise end to end — a private registry, build httpd:v12, tag,
# push, rmi, pull, run -d -p, curl, rm -f — with Wharf and with the docker CLI against a private dockerd (Debian's
# docker.io, classic builder, Docker's default bridge network in a network namespace of its own), interleaved: each
# round runs the whole exercise once with each tool. Each tool has its own distribution registry (`docker-registry`)
# on loopback in its own network namespace (dockerd's namespace cannot reach the host's loopback). Prints a Markdown
# table of per-step medians with Wharf/docker ratios and the CPU time of the client's own processes.
# Usage: bash bench/tutorial.sh [rounds=7]   (needs a built checkout: `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-7}
[ -f dist/wharf.cjs ] || npm run --silent build >/dev/null

W=$(mktemp -d /tmp/wharf-bench-tut.XXXXXX)
DPID=""
RPIDS=()
. bench/private-dockerd.sh
cleanup() {
  set +e
  ./bin/wharf --root "$W/wroot" rm -f web >/dev/null 2>&1
  D rm -f web >/dev/null 2>&1
  for p in "${RPIDS[@]}"; do kill "$p" 2>/dev/null; done
  remove_bench_dir
}
trap cleanup EXIT
start_private_dockerd_bridged wharf-bench-tut

registry() { # name port [nsenter args...]: start a docker-registry, PID into RPIDS
  local name=$1 port=$2
  shift 2
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$W/$name" "$port" >"$W/$name.yml"
  "$@" docker-registry serve "$W/$name.yml" >"$W/$name.log" 2>&1 &
  RPIDS+=($!)
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! iptables -w -t nat -S 2>/dev/null | grep -q -- "--dport $1 "; }
WREG=$((20000 + RANDOM % 20000))
while ! port_free "$WREG"; do WREG=$((WREG + 1)); done
WPORT=$((WREG + 1))
while ! port_free "$WPORT"; do WPORT=$((WPORT + 1)); done
DREG=5000
DPORT=8080
IN_D() { nsenter -t "$DPID" -n "$@"; }
IN_D ip link set lo up # a new network namespace's loopback starts down
registry wreg "$WREG"
registry dreg "$DREG" nsenter -t "$DPID" -n
up=0
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$WREG/v2/" >/dev/null 2>&1 && IN_D curl -fsS "http://127.0.0.1:$DREG/v2/" >/dev/null 2>&1 && up=1 && break; sleep 0.5; done
[ "$up" = 1 ] || { echo "the registries did not start" >&2; exit 1; }

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/ctx"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true httpd; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
W_() { ./bin/wharf --root "$W/wroot" "$@"; }
W_ import -c 'CMD ["sh"]' "$W/base.tar" busybox:latest >/dev/null
W_ save -o "$W/bb.tar" busybox >/dev/null
D load -i "$W/bb.tar" >/dev/null
printf 'FROM busybox\nCOPY index.html /www/index.html\nEXPOSE 80\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n' >"$W/ctx/Dockerfile"

declare -A T T_CPU
cpu_us() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000000 }' "$1"; }
step() { # key cmd...: wall and CPU time of one step
  local key=$1 s e
  shift
  times >"$W/t0"
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || echo "failed: $*" >&2
  e=$EPOCHREALTIME
  times >"$W/t1"
  T[$key]+="$(awk "BEGIN { printf \"%d\", ($e - $s) * 1000000 }") "
  T_CPU[$key]+="$(($(cpu_us "$W/t1") - $(cpu_us "$W/t0"))) "
}
fetch() { # [nsenter...] port: until the web server answers (bounded)
  local port=${*: -1} i
  for i in $(seq 1 100); do "${@:1:$#-1}" curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
STEPS=(build tag push rmi pull run curl rm)
exercise() { # prefix tool registry-port host-port in-netns...
  local k=$1 t=$2 reg=$3 port=$4
  shift 4
  local img="127.0.0.1:$reg/me/httpd:v12"
  step "$k-build" "$t" build -q -t httpd:v12 "$W/ctx"
  step "$k-tag" "$t" tag httpd:v12 "$img"
  step "$k-push" "$t" push "$img"
  step "$k-rmi" "$t" rmi httpd:v12 "$img"
  step "$k-pull" "$t" pull "$img"
  step "$k-run" "$t" run -d -p "$port:80" --name web "$img"
  step "$k-curl" fetch "$@" "$port"
  step "$k-rm" "$t" rm -f web
  "$t" rmi "$img" >/dev/null 2>&1 || true
}
echo warm >"$W/ctx/index.html"
exercise wx W_ "$WREG" "$WPORT" env
exercise dx D "$DREG" "$DPORT" nsenter -t "$DPID" -n
T=() && T_CPU=()
for r in $(seq 1 "$RUNS"); do
  echo "round $r $RANDOM" >"$W/ctx/index.html" # a real COPY each round, not a cache hit
  exercise w W_ "$WREG" "$WPORT" env
  exercise d D "$DREG" "$DPORT" nsenter -t "$DPID" -n
done
median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000000}'; }
med() { printf '%s\n' ${T[$1]} | median; }
cpu() { printf '%s\n' ${T_CPU[$1]} | median; }
sum() { local s=0 i; for i in ${T[$1]}; do s=$((s + i)); done; echo "$s"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "tutorial exercise; medians of $RUNS interleaved rounds; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| step | docker s (cpu) | wharf s (cpu) | wharf / docker |"
echo "|---|---|---|---|"
WT=0 DT=0
for s in "${STEPS[@]}"; do
  echo "| \`$s\` | $(med "d-$s") ($(cpu "d-$s")) | $(med "w-$s") ($(cpu "w-$s")) | $(ratio "$(med "w-$s")" "$(med "d-$s")") |"
  WT=$(awk "BEGIN { print $WT + $(med "w-$s") }"); DT=$(awk "BEGIN { print $DT + $(med "d-$s") }")
done
echo "| end to end (sum of medians) | $DT | $WT | $(ratio "$WT" "$DT") |"
