#!/usr/bin/env bash
# Benchmark (run by hand, not a test): a ten-step Dockerfile over a 5,000-file context, built by Wharf and by docker
# (a private dockerd from Debian's docker.io, classic builder) and by buildah when installed: cold build, no-op
# rebuild, and rebuild after one changed file. Prints a Markdown table with median seconds and Wharf/docker ratios.
# Usage: bash bench/build.sh [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
bash scripts/ensure-deps.sh >/dev/null
[ "${BENCH_NO_SETUP:-}" = 1 ] || npm run --silent build >/dev/null # BENCH_NO_SETUP=1: the checkout is built already

W=$(mktemp -d /tmp/wharf-bench-build.XXXXXX)
DPID=""
. bench/private-dockerd.sh
trap remove_bench_dir EXIT

export DOCKER_BUILDKIT=0
start_private_dockerd wharf-bench-build
WH() { ./bin/wharf --root "$W/wharf" "$@"; }

# The same busybox base in every tool.
mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh ls wc echo cat; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/base.tar" .
WH import "$W/base.tar" bench-base:1 >/dev/null
WH save -o "$W/base-image.tar" bench-base:1
D load -i "$W/base-image.tar" >/dev/null
HAVE_BUILDAH=0
if command -v buildah >/dev/null; then
  HAVE_BUILDAH=1
  BH() { buildah --root "$W/buildah" --runroot "$W/buildah-run" --storage-driver overlay "$@"; }
  BH pull "docker-archive:$W/base-image.tar" >/dev/null
fi

# Context: 50 directories of 100 small files, and a Dockerfile of ten steps.
make_context() {
  local c=$1
  mkdir -p "$c"
  for d in $(seq 1 50); do mkdir -p "$c/src/d$d"; for f in $(seq 1 100); do echo "file $d $f" > "$c/src/d$d/f$f.txt"; done; done
  cat > "$c/Dockerfile" <<'DF'
FROM bench-base:1
ENV APP=/app
WORKDIR /app
COPY src/d1 /app/d1
RUN echo setup > /setup
COPY . /app/
RUN ls -R /app | wc -l > /count
LABEL version=1
EXPOSE 8080
CMD ["sh"]
DF
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); awk "BEGIN { print $e - $s }"; }

declare -A T
run_tool() {
  local tool=$1 build=$2
  local cold=() noop=() one=()
  for r in $(seq 1 "$RUNS"); do
    local c="$W/ctx-$tool-$r"
    make_context "$c"
    # Cold: no cache at all (the same content in a new directory would hit the cache otherwise).
    cold+=("$(time_it $build "$c" --no-cache)")
    noop+=("$(time_it $build "$c")")
    echo "changed $r" >> "$c/src/d50/f100.txt"
    one+=("$(time_it $build "$c")")
  done
  T[$tool,cold]=$(printf '%s\n' "${cold[@]}" | median)
  T[$tool,noop]=$(printf '%s\n' "${noop[@]}" | median)
  T[$tool,one]=$(printf '%s\n' "${one[@]}" | median)
}
wharf_build() { WH build -q "${@:2}" "$1"; }
docker_build() { D build -q "${@:2}" "$1"; }
buildah_build() { BH bud --layers -q "${@:2}" "$1"; }

run_tool wharf wharf_build
run_tool docker docker_build
[ "$HAVE_BUILDAH" = 1 ] && run_tool buildah buildah_build

ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "| case | wharf (s) | docker classic (s) | buildah (s) | wharf/docker |"
echo "|---|---|---|---|---|"
for k in cold noop one; do
  name=$([ $k = cold ] && echo "cold build" || ([ $k = noop ] && echo "no-op rebuild" || echo "one changed file"))
  b=$([ "$HAVE_BUILDAH" = 1 ] && echo "${T[buildah,$k]}" || echo "n/a")
  echo "| $name | ${T[wharf,$k]} | ${T[docker,$k]} | $b | $(ratio "${T[wharf,$k]}" "${T[docker,$k]}") |"
done
