#!/usr/bin/env bash
# The Wharf demo: everything a newcomer needs to see Wharf work, on a fresh Debian machine as root.
# Installs what is missing (npm packages, Debian's busybox-static and peers), then runs the main job in a private
# root that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
[ -f dist/cli/main.js ] && [ -z "$(find src -newer dist/cli/main.js -name '*.ts' -print -quit)" ] || npm run --silent build

ROOT=$(mktemp -d /tmp/wharf-demo.XXXXXX)
WORK=$(mktemp -d /tmp/wharf-demo-work.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  grep -o " $ROOT[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$ROOT" "$WORK"
}
trap cleanup EXIT
w() { echo "+ wharf $*" >&2; ./bin/wharf --root "$ROOT" "$@"; }

echo "== A busybox base image from Debian's busybox-static"
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp" "$WORK/rootfs/www"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in sh ls cat echo httpd sleep id hostname wget mkdir rm env true; do ln -sf busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$WORK/rootfs/etc/passwd"
printf 'root:x:0:\n' > "$WORK/rootfs/etc/group"
tar --numeric-owner -C "$WORK/rootfs" -cf "$WORK/busybox.tar" .
w import -c 'CMD ["sh"]' -m 'busybox from Debian busybox-static' "$WORK/busybox.tar" busybox:latest

echo "== The image store"
w images
w history busybox
w image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} layers={{json .RootFS.Layers}}' busybox
w tag busybox demo/busybox:1
w save -o "$WORK/busybox-save.tar" busybox demo/busybox:1
w rmi demo/busybox:1
w load -i "$WORK/busybox-save.tar"
w system df
w system check
echo "== Demo finished"
