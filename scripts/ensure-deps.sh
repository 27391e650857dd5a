#!/usr/bin/env bash
# Installs what Wharf and its tests need, only when it is missing: npm packages, and the peers from Debian
# (runc, skopeo, umoci, the reference registry, dockerd, busybox, CNI plugins). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have runc || need+=(runc)
have skopeo || need+=(skopeo)
have podman || need+=(podman)
have buildah || need+=(buildah)
have umoci || need+=(umoci)
have docker-registry || need+=(docker-registry)
have dockerd || need+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
have iptables || need+=(iptables)
have xz || need+=(xz-utils)
have curl || need+=(curl)
have ip || need+=(iproute2)
# The native build (the monitor) and test/integration/container/seccomp-docker.test.ts's static probe.
have cc || need+=(gcc libc6-dev)
[ -x /usr/bin/docker-init ] || [ -x /usr/bin/tini-static ] || need+=(tini)
# Engine API clients the tests drive: Debian's docker-py and docker-compose (run with /usr/bin/python3, not a pyenv).
/usr/bin/python3 -c 'import docker' >/dev/null 2>&1 || need+=(python3-docker)
have docker-compose || need+=(docker-compose)
# Name resolution on user-defined networks (podman's resolver, from Debian).
[ -x /usr/lib/podman/aardvark-dns ] || need+=(aardvark-dns)
# libFuzzer for the monitor's fuzz harness.
have clang || need+=(clang)
# clang's libFuzzer and sanitizer runtimes (-fsanitize=fuzzer,address,undefined): not a dependency of clang itself.
[ -e "$(clang -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-$(uname -m).a" ] || need+=(libclang-rt-dev)
# The registry's scale-out tests: PostgreSQL 15 and a single-node Ceph with its RADOS Gateway.
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
have radosgw || need+=(radosgw ceph-mon ceph-osd ceph-mgr ceph-common)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-deps: missing ${need[*]}; run as root to install them" >&2
  else
    echo "ensure-deps: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
# Subordinate ids for --userns=auto (docs/security.md): the tests and doc examples run remapped containers with the
# `wharf` user's range, which Wharf itself never adds.
if [ "$(id -u)" = 0 ]; then
  for f in /etc/subuid /etc/subgid; do grep -qs '^wharf:' "$f" || echo 'wharf:1000000:10000000' >>"$f"; done
fi
# Debian's busybox-static must provide a static binary: it is copied into images.
if [ ! -x /bin/busybox ] && [ -x /usr/bin/busybox ]; then :; fi

# The stamp holds the hash of the lock file it was installed from: a content check, not an mtime one, because a git
# worktree's fresh checkout is newer than any install and must not reinstall a node_modules it shares by symlink.
stamp=node_modules/.wharf-installed
lock=package-lock.json
[ -f "$lock" ] || lock=package.json
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  echo "$want" >"$stamp"
fi
