#!/usr/bin/env bash
# The Wharf demo, on a fresh Debian machine as root: start Wharf's own registry, build a web image from a
# Dockerfile, push it, remove it, pull it back, run it with a published port, fetch the page, clean up.
# Installs what is missing (npm packages; Debian's busybox-static, runc, CNI plugins…) and works in a private root
# that is removed at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ ! -f dist/wharf.cjs ] || [ -n "$(find src -newer dist/wharf.cjs -name '*.ts' -print -quit)" ]; then npm run --silent build; fi

ROOT=$(mktemp -d /tmp/wharf-demo.XXXXXX)
WORK=$(mktemp -d /tmp/wharf-demo-work.XXXXXX)
REG_PID=""
CTR=""
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
REG_PORT=$(free_port)
WEB_PORT=$(free_port)
REG="127.0.0.1:$REG_PORT"

w() { echo "+ wharf $*" >&2; ./bin/wharf --root "$ROOT" "$@"; }
cleanup() {
  set +e
  [ -n "$CTR" ] && ./bin/wharf --root "$ROOT" rm -f "$CTR" >/dev/null 2>&1
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  grep -o " $ROOT[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$ROOT" "$WORK"
}
trap cleanup EXIT

echo "== 1. A busybox base image from Debian's busybox-static"
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in sh ls cat echo httpd sleep id hostname wget mkdir rm env true; do ln -sf busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/www:/bin/false\n' > "$WORK/rootfs/etc/passwd"
printf 'root:x:0:\nwww:x:33:\n' > "$WORK/rootfs/etc/group"
tar --numeric-owner -C "$WORK/rootfs" -cf "$WORK/busybox.tar" .
w import -c 'CMD ["sh"]' -m 'busybox from Debian busybox-static' "$WORK/busybox.tar" busybox:latest

echo "== 2. Wharf's own registry on $REG"
./bin/wharf --root "$ROOT" registry serve --addr "$REG" > "$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -D - -o /dev/null "http://$REG/v2/" | grep -i '^docker-distribution-api-version'

echo "== 3. Build a web image from a Dockerfile"
mkdir -p "$WORK/site"
cat > "$WORK/site/index.html" <<'HTML'
<h1>Hello from Wharf</h1>
HTML
cat > "$WORK/site/Dockerfile" <<'DOCKERFILE'
FROM busybox
LABEL org.opencontainers.image.title="wharf demo"
COPY index.html /www/
RUN echo "built at $(date -u)" > /www/built.txt
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
DOCKERFILE
w build -t "$REG/demo/web:1" "$WORK/site"
w history "$REG/demo/web:1"

echo "== 4. Push, remove, pull"
w push "$REG/demo/web:1"
curl -fsS "http://$REG/v2/_catalog"; echo
curl -fsS "http://$REG/v2/demo/web/tags/list"; echo
w rmi "$REG/demo/web:1"
w pull "$REG/demo/web:1"
w images

echo "== 5. Run it with a published port and fetch the page"
CTR=$(w run -d --name demo-web -p "127.0.0.1:$WEB_PORT:80" "$REG/demo/web:1")
w ps
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$WEB_PORT/" 2>/dev/null && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$WEB_PORT/built.txt"
w logs demo-web || true

echo "== 6. Clean up"
w stop demo-web
w rm demo-web
CTR=""
w system df
w system check
echo "== Demo finished"
