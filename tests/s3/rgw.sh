#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# A real S3 for the s3 sink's tests: a single-node Ceph cluster (one
# monitor, one OSD keeping its objects in memory, no manager, no systemd,
# no block device) and radosgw, all on loopback, from Debian's packages.
#
#   rgw.sh start DIR    install what is missing (as root, with apt-get),
#                       start the cluster, write DIR/env; exit 77 (skip)
#                       with the reason in DIR/skip when it cannot
#   rgw.sh stop DIR     stop every daemon the cluster started, remove DIR
#
# DIR/env (sourced by lib-s3.sh) names the endpoint, the credentials and
# the ceph.conf with which a test starts a gateway of its own (to stop or
# kill it without disturbing the others). Ports are picked free, so two
# clusters (two build trees) can run at once. Starting takes about 15 s,
# most of it radosgw creating its pools.
set -euo pipefail

PKGS="ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl"

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
CMD=$1
D=$2

skip() {
	mkdir -p "$D"
	echo "$*" >"$D/skip"
	echo "SKIP: s3 tests: $*" >&2
	exit 77
}

have_tools() {
	command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null &&
	    command -v radosgw >/dev/null && command -v radosgw-admin >/dev/null &&
	    command -v monmaptool >/dev/null && command -v ceph >/dev/null &&
	    command -v uuidgen >/dev/null && command -v curl >/dev/null
}

install_tools() {
	local log=$D/apt.log

	if [ "$(id -u)" != 0 ]; then
		skip "ceph-mon, ceph-osd, radosgw and ceph-common are not installed, and installing them needs root ($PKGS)"
	fi
	if ! command -v apt-get >/dev/null; then
		skip "ceph is not installed and there is no apt-get to install it ($PKGS)"
	fi
	echo "installing $PKGS (about a minute)..." >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends $PKGS >"$log" 2>&1; then
		# A fresh machine may have no package lists yet.
		apt-get update >>"$log" 2>&1 || true
		apt-get install -y --no-install-recommends $PKGS >>"$log" 2>&1 ||
			skip "apt-get install $PKGS failed (see $log)"
	fi
	have_tools || skip "$PKGS installed, but the daemons are still missing"
}

free_tcp_port() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/free_tcp_port.py"
}

# Start the cluster's gateway on a free port. The port is free when picked,
# not when radosgw binds it some seconds later: on EADDRINUSE, pick again.
start_gateway() {
	local try i log=$D/log/client.rgw.a.log pid

	for try in 1 2 3; do
		rgw_port=$(free_tcp_port)
		radosgw "${C[@]}" -n client.rgw.a \
		    --rgw-frontends="beast endpoint=127.0.0.1:$rgw_port" ||
			fail_start "radosgw did not start"
		for i in $(seq 1 240); do
			curl -s -o /dev/null "http://127.0.0.1:$rgw_port/" && return 0
			grep -q "failed to bind address 127.0.0.1:$rgw_port" "$log" 2>/dev/null &&
				break
			sleep 0.25
		done
		pid=$(cat "$D/run/client.rgw.a.pid" 2>/dev/null || true)
		[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
		grep -q "failed to bind address 127.0.0.1:$rgw_port" "$log" 2>/dev/null ||
			fail_start "radosgw does not answer on port $rgw_port"
		echo "rgw.sh: port $rgw_port was taken before radosgw bound it; picking another" >&2
		sleep 1
	done
	fail_start "radosgw could not bind a port in 3 tries"
}

stop_daemons() {
	local f pid pids=""

	[ -d "$D/run" ] || return 0
	for f in "$D"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		case $pid in
		'' | *[!0-9]*) continue ;;
		esac
		# Only what this cluster started: its conf is on the command line.
		if grep -qF -- "$D/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			pids="$pids $pid"
		fi
	done
	for _ in $(seq 1 100); do
		local alive=""

		for pid in $pids; do
			kill -0 "$pid" 2>/dev/null && alive="$alive $pid"
		done
		pids=$alive
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	for pid in $pids; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

start() {
	local fsid osduuid mon_port rgw_port conf key=NETDUMPKEY
	local secret=NETDUMPSECRET i

	# What an earlier run left behind (it may have been killed).
	stop_daemons
	rm -rf "$D"
	mkdir -p "$D"/run "$D"/log "$D"/mon "$D"/osd0 "$D"/rgw
	have_tools || install_tools
	command -v python3 >/dev/null || skip "python3 is needed to pick free ports"

	fsid=$(uuidgen)
	mon_port=$(free_tcp_port)
	conf=$D/ceph.conf
	cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port/0
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
ms bind msgr1 = false
; with auth none, clients must be allowed crc mode or they hang for 300 s
ms mon client mode = crc secure
ms client mode = crc secure
ms cluster mode = crc secure
ms service mode = crc secure
ms mon service mode = crc secure
ms mon cluster mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
; the monitor stops itself on a nearly full disk otherwise
mon data avail warn = 1
mon data avail crit = 0
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
osd max object name len = 460
osd max object namespace len = 64
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
mon data = $D/mon
osd data = $D/osd\$id
[client.rgw.a]
rgw data = $D/rgw
CONF
	C=(-c "$conf")
	monmaptool --create --add a "v2:127.0.0.1:$mon_port" --fsid "$fsid" \
	    --enable-all-features --clobber "$D/monmap" >/dev/null
	ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" ||
		fail_start "ceph-mon --mkfs failed"
	ceph-mon "${C[@]}" -i a || fail_start "ceph-mon did not start"
	osduuid=$(uuidgen)
	timeout 60 ceph "${C[@]}" osd new "$osduuid" >/dev/null ||
		fail_start "ceph osd new failed (monitor not answering?)"
	ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osduuid" 2>"$D/log/osd-mkfs.err" ||
		fail_start "ceph-osd --mkfs failed"
	ceph-osd "${C[@]}" -i 0 2>"$D/log/osd.err" || fail_start "ceph-osd did not start"
	for i in $(seq 1 120); do
		timeout 10 ceph "${C[@]}" osd stat 2>/dev/null | grep -q '1 up' && break
		[ "$i" -lt 120 ] || fail_start "the OSD did not come up"
		sleep 0.5
	done
	start_gateway
	radosgw-admin "${C[@]}" user create --uid=netdump --display-name=netdump \
	    --access-key="$key" --secret-key="$secret" >/dev/null ||
		fail_start "radosgw-admin user create failed"
	cat >"$D/env" <<ENV
RGW_DIR=$D
RGW_CONF=$conf
RGW_PORT=$rgw_port
RGW_ENDPOINT=http://127.0.0.1:$rgw_port
RGW_REGION=us-east-1
S3_ACCESS_KEY=$key
S3_SECRET_KEY=$secret
ENV
	echo "rgw ready at http://127.0.0.1:$rgw_port (monitor on $mon_port), state in $D"
}

fail_start() {
	local f

	echo "rgw.sh: $*" >&2
	for f in "$D"/log/*; do
		[ -s "$f" ] || continue
		echo "---- last lines of $f ----" >&2
		tail -n 15 "$f" >&2
	done
	stop_daemons
	# A cluster that will not start here is a failure, not a skip: the
	# packages are there, so something is wrong.
	exit 1
}

case $CMD in
start)
	start
	;;
stop)
	stop_daemons
	rm -rf "$D"
	;;
*)
	usage
	;;
esac
