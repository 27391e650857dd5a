#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the registry's tests, benchmarks and docs (docs/scale-out.md).
#
#   scripts/postgres.sh start [DIR]   initdb a cluster in DIR (default: a new temp dir), start postgres on a free
#                                     127.0.0.1 port; prints the DSN (postgresql://wharf@127.0.0.1:PORT/wharf)
#   scripts/postgres.sh stop DIR      fast shutdown of the postgres whose PID is in DIR/postgres.pid (a cluster that
#                                     had to live outside DIR, see base_of, is removed with it)
#   scripts/postgres.sh restart DIR   stop, then start the same cluster on the same port (fault tests)
#   scripts/postgres.sh dsn DIR       prints the DSN of a started cluster
#
# postgres refuses to run as root: as root it runs as the `postgres` system user (runuser), which owns DIR/data.
# Authentication is `trust` on loopback only: this is a test cluster, never a production one.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -n "$dir" ]; then dir=$(realpath -m "$dir"); fi

die() { echo "postgres.sh: $*" >&2; exit 1; }
[ -x "$PGBIN/postgres" ] || die "no PostgreSQL 15 in $PGBIN (apt-get install postgresql; scripts/ensure-deps.sh)"

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  # The kernel picks a free port; postgres binds it a moment later (a rare race: start retries).
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Alive and not a zombie: a daemonized postmaster is reparented to whatever reaps orphans here, which may never reap
# it, so a stopped one can linger as a zombie that kill -0 still finds.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
pid_alive() { [ -f "$1/postgres.pid" ] && running "$(cat "$1/postgres.pid")"; }

# PG_FSYNC=off (the tests' setting): no fsync, for a throwaway cluster on a busy disk. A crash of the machine could then
# lose committed rows; a crash or restart of postgres itself cannot.
durability=
if [ "${PG_FSYNC:-on}" = off ]; then durability="-c fsync=off -c full_page_writes=off"; fi

# Where the cluster's files live: DIR itself, or (as root, when the postgres user cannot reach DIR because a parent is
# private) a directory of its own under /tmp, named in DIR/base.
base_of() { cat "$1/base" 2>/dev/null || echo "$1"; }

launch() {
  local d=$1 port=$2 b
  b=$(base_of "$d")
  # -w waits until it accepts connections; the postmaster's PID is the first line of postmaster.pid.
  as_owner "$PGBIN/pg_ctl" -D "$b/data" -l "$b/postgres.log" -w -t 60 \
    -o "-p $port -k $b/sock -c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=200 $durability" \
    start >/dev/null || return 1
  head -n 1 "$b/data/postmaster.pid" >"$d/postgres.pid"
  echo "$port" >"$d/port"
}

stop_cluster() {
  local d=$1
  pid_alive "$d" || { rm -f "$d/postgres.pid"; return 0; }
  local pid
  pid=$(cat "$d/postgres.pid")
  kill -INT "$pid" # fast shutdown: open transactions roll back, clients see their connection end
  for _ in $(seq 1 300); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then kill -KILL "$pid"; sleep 0.5; fi
  # A postmaster that died (or lingers as a zombie) leaves its lock file, which would stop the next start.
  running "$pid" || rm -f "$(base_of "$d")/data/postmaster.pid"
  rm -f "$d/postgres.pid"
}

dsn() { echo "postgresql://wharf@127.0.0.1:$(cat "$1/port")/wharf"; }

case "$cmd" in
  start)
    if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/wharf-pg.XXXXXX); fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$dir"
      chmod 755 "$dir"
      if [ ! -f "$dir/base" ] && ! runuser -u postgres -- test -w "$dir"; then
        b=$(mktemp -d /tmp/wharf-pg-cluster.XXXXXX)
        chown postgres: "$b"
        chmod 755 "$b"
        echo "$b" >"$dir/base"
      fi
    fi
    b=$(base_of "$dir")
    mkdir -p "$b/sock"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$b/sock"; fi
    if [ ! -f "$b/data/PG_VERSION" ]; then
      as_owner "$PGBIN/initdb" -D "$b/data" -U wharf --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
    fi
    started=
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      if launch "$dir" "$port"; then started=1; break; fi
    done
    [ -n "$started" ] || die "postgres did not start: $(tail -n 5 "$b/postgres.log")"
    as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U wharf -d postgres -qAt \
      -c "SELECT 1 FROM pg_database WHERE datname = 'wharf'" | grep -q 1 ||
      as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U wharf wharf
    echo "dir=$dir" >&2
    dsn "$dir"
    ;;
  stop)
    [ -n "$dir" ] || die "usage: postgres.sh stop DIR"
    stop_cluster "$dir"
    # A cluster kept outside DIR has no other owner: it goes with the stop.
    if [ -f "$dir/base" ]; then rm -rf "$(cat "$dir/base")" "$dir/base"; fi
    ;;
  restart)
    [ -n "$dir" ] || die "usage: postgres.sh restart DIR"
    stop_cluster "$dir"
    launch "$dir" "$(cat "$dir/port")" || die "postgres did not start again: $(tail -n 5 "$(base_of "$dir")/postgres.log")"
    ;;
  dsn)
    dsn "$dir"
    ;;
  *)
    die "usage: postgres.sh start [DIR] | stop DIR | restart DIR | dsn DIR"
    ;;
esac
