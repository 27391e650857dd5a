#!/usr/bin/env bash
# A throw-away single-node Ceph with a RADOS Gateway (S3) on loopback, everything under one directory:
#   scripts/ceph-rgw.sh start DIR   one monitor, one manager, one OSD on a sparse file-backed BlueStore, radosgw (beast),
#                                   an S3 user and a bucket; prints the S3_* env lines (also kept in DIR/env)
#   scripts/ceph-rgw.sh env DIR     prints those lines again
#   scripts/ceph-rgw.sh stop DIR    stops the daemons by the PIDs in DIR/run (radosgw first, monitor last); the data
#                                   stays in DIR (the BlueStore file is sparse): remove DIR to drop it
# Needs Debian's ceph-mon, ceph-mgr, ceph-osd, radosgw (scripts/ensure-deps.sh) and root or a user that may write DIR.
# Two runs with different DIRs do not collide: own fsid, own free ports, own run/log/data directories.
# Memory is kept small (one OSD at ~1 GiB target, small caches) for a 2-core machine shared with other work.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop|env DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/ceph.conf
bucket=${CEPH_RGW_BUCKET:-wharf}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits (bounded) until a command succeeds; on timeout prints the logs that say why.
wait_for() {
  local what=$1 tries=$2
  shift 2
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ceph-rgw: timed out waiting for $what; last log lines:" >&2
  tail -n 30 "$dir"/log/*.log >&2 || true
  return 1
}

# Progress with the seconds since start on stderr (stdout carries only the env lines).
phase() { echo "ceph-rgw: $1 after $((SECONDS - t0)) s" >&2; }

ceph_cli() { timeout 30 ceph -c "$conf" "$@"; }

stop() {
  # Reverse start order: clients of the cluster first, the monitor (which the others talk to) last.
  for name in client.rgw.wharf osd.0 mgr.x mon.a; do
    local pidfile=$dir/run/$name.pid
    [[ -f "$pidfile" ]] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

start() {
  if [[ -f "$dir/env" && -f "$dir/run/client.rgw.wharf.pid" ]] && kill -0 "$(cat "$dir/run/client.rgw.wharf.pid")" 2>/dev/null; then
    cat "$dir/env"
    return 0
  fi
  local t0=$SECONDS
  # A start that fails half-way stops what it had started (by PID), so nothing is left running.
  trap 'rc=$?; if ((rc != 0)); then echo "ceph-rgw: start failed ($rc); logs in $dir/log" >&2; stop; fi' EXIT
  rm -rf "$dir/mon" "$dir/mgr" "$dir/osd" "$dir/run" "$dir/log" "$dir/env"
  mkdir -p "$dir/mon/ceph-a" "$dir/mgr/ceph-x" "$dir/osd/ceph-0" "$dir/run" "$dir/log" "$dir/rgw"
  local fsid mon_port rgw_port
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
public_addr = 127.0.0.1
ms_bind_ipv6 = false
# A private loopback cluster: no cephx (nothing but this machine can reach it).
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
mon_cluster_log_file = $dir/log/cluster.log
keyring = $dir/keyring
# One OSD: pools of size 1, placement on one host, few placement groups.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_allow_pool_delete = true
[mon]
mon_data = $dir/mon/ceph-\$id
[mgr]
mgr_data = $dir/mgr/ceph-\$id
# The default modules (dashboard, prometheus, ...) cost memory and CPU for nothing here.
mgr_initial_modules =
[osd]
osd_data = $dir/osd/ceph-\$id
osd_objectstore = bluestore
# BlueStore on a sparse file: no disk or loop device needed, 4 GiB of address space, only written blocks use disk.
bluestore_block_path = $dir/osd/block-\$id.img
bluestore_block_create = true
bluestore_block_size = 4294967296
bluestore_block_db_create = false
bluestore_block_wal_create = false
osd_memory_target = 1073741824
bluestore_cache_autotune = false
bluestore_cache_size = 268435456
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2
[client.rgw.wharf]
# radosgw's built-in defaults ask for cephx and a "secure" monitor connection, which a cluster without auth refuses
# (EACCES from get_initial_auth_request, then a 300 s hang): say none again where radosgw reads it.
auth_client_required = none
ms_mon_client_mode = crc
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_data = $dir/rgw
rgw_thread_pool_size = 32
rgw_dns_name = 127.0.0.1
EOF
  : >"$dir/keyring"

  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1
  ceph-mon -c "$conf" -i a
  wait_for "the monitor" 60 ceph_cli mon stat
  phase "monitor up"

  ceph-mgr -c "$conf" -i x >"$dir/log/mgr-start.out" 2>&1
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph_cli osd new "$uuid")
  ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" >"$dir/log/mkfs-osd.out" 2>&1 ||
    { tail -n 30 "$dir/log/mkfs-osd.out" "$dir/log/osd.$id.log" >&2; exit 1; }
  ceph-osd -c "$conf" -i "$id" >"$dir/log/osd-start.out" 2>&1
  wait_for "the OSD to come up" 120 bash -c "ceph -c '$conf' osd dump 2>/dev/null | grep -q '^osd.$id up'"
  phase "OSD up"

  # radosgw forks only once connected to the cluster; bound that wait.
  timeout 120 radosgw -c "$conf" -n client.rgw.wharf --rados-connect-timeout 90 ||
    { echo "ceph-rgw: radosgw did not start" >&2; tail -n 30 "$dir/log/client.rgw.wharf.log" >&2; exit 1; }
  wait_for "radosgw" 240 curl -sf "http://127.0.0.1:$rgw_port/"
  phase "radosgw answers"

  local access secret
  access=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  secret=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
  timeout 60 radosgw-admin -c "$conf" -n client.rgw.wharf user create --uid wharf --display-name wharf \
    --access-key "$access" --secret-key "$secret" >"$dir/log/user.out" 2>&1 ||
    { cat "$dir/log/user.out" >&2; exit 1; }
  local url=http://127.0.0.1:$rgw_port
  # curl's SigV4 leaves out the payload hash header, which S3 (and RGW) require: the hash of the empty body.
  local empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  wait_for "the bucket" 60 curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" \
    -H "x-amz-content-sha256: $empty_sha256" "$url/$bucket"

  phase "bucket made"
  cat >"$dir/env" <<EOF
S3_ENDPOINT=$url
S3_REGION=us-east-1
S3_BUCKET=$bucket
S3_ACCESS_KEY=$access
S3_SECRET_KEY=$secret
CEPH_CONF=$conf
CEPH_START_SECONDS=$((SECONDS - t0))
EOF
  trap - EXIT
  cat "$dir/env"
}

case "$cmd" in
start) start ;;
stop) stop ;;
env) cat "$dir/env" ;;
*)
  echo "usage: $0 start|stop|env DIR" >&2
  exit 2
  ;;
esac
