#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The loss matrix: 1 %, 5 % and 20 % loss on the data direction, on the
# ack direction, and on both, each with 5 % duplicates and half the calls
# reordered; nine 4 MiB dumps at once from nine addresses, with a short
# round timeout (20 ms) and many rounds so they are fast, plus a tenth
# with the kernel's own timing (1 s rounds, net.debugnet.nretries 10) at
# 20 % each way. Each must be complete and byte-identical, or, if its
# client gave up, kept and labelled incomplete with exactly the bytes that
# arrived: never complete with wrong bytes. Up to 5 % loss the client
# must succeed.
set -euo pipefail
NET=160
. "$(dirname "$0")/../integration/lib.sh"

# A client that gave up is closed after 3 s of silence.
start_server --timeout 3

declare -A PIDS LOSS
i=0
for p in 0.01 0.05 0.20; do
	for dir in data ack both; do
		i=$((i + 1))
		case $dir in
		data) f=(--loss "$p") ;;
		ack) f=(--ack-loss "$p") ;;
		both) f=(--loss "$p" --ack-loss "$p") ;;
		esac
		if [ "$p" = 0.20 ]; then
			t=(-t 20 -r 40)
		else
			t=(-t 20 -r 150)
		fi
		LOSS[$i]="$p $dir"
		send_bg "$(client_addr $i)" -q -v -g 4M -s "40$i" "${f[@]}" \
		    --dup 0.05 --reorder 0.5 "${t[@]}" -o "$T/sent$i"
		PIDS[$i]=$BG_PID
	done
done
# The kernel's timing (the defaults): 20 % is slow, not corrupting.
i=10
LOSS[$i]="0.20 both-kernel-timing"
send_bg "$(client_addr $i)" -q -v -g 256k -s 410 --loss 0.2 --ack-loss 0.2 \
    --dup 0.05 --reorder 0.5 -o "$T/sent$i"
PIDS[$i]=$BG_PID
# Too few rounds for 20 % loss: the client gives up mid-dump (as a kernel
# does when a call times out); what arrived must be kept, incomplete.
i=11
LOSS[$i]="0.20 data-too-few-rounds"
send_bg "$(client_addr $i)" -q -v -g 4M -s 411 --loss 0.2 --dup 0.05 \
    --reorder 0.5 -t 20 -r 2 -o "$T/sent$i"
PIDS[$i]=$BG_PID

ok=0 gaveup=0
for i in $(seq 1 11); do
	a=$(client_addr "$i")
	d=$(client_dir "$a")
	read -r p dir <<<"${LOSS[$i]}"
	rc=0
	wait "${PIDS[$i]}" || rc=$?
	what="$p loss on $dir"
	case $rc in
	0)
		[ "$dir" != data-too-few-rounds ] ||
			fail "$what: the client should have given up (3 rounds at 20 % loss)"
		wait_manifest "$d" 0 30
		m=$d/manifest.0.json
		assert_manifest "$m" complete "$T/sent$i"
		assert_same_bytes "$d/vmcore.0" "$T/sent$i"
		grep -q "retransmit round" "$T/bg.$a.log" ||
			fail "$what: no retransmission: the faults were not applied"
		ok=$((ok + 1))
		pass "$what (+5% dup, reorder): complete, byte-identical, $(jget "$m" .duplicate_packets) duplicates counted"
		;;
	1)
		if [ "$p" != 0.20 ]; then
			cat "$T/bg.$a.log" >&2
			fail "$what: the client gave up (only 20 % may)"
		fi
		grep -q "failed: VMCORE" "$T/bg.$a.log" ||
			fail "$what: the client did not give up on a data call: $(cat "$T/bg.$a.log")"
		wait_manifest "$d" 0 30
		m=$d/manifest.0.json
		assert_manifest "$m" incomplete
		assert_no_file "$d/vmcore.0"
		assert_file "$d/vmcore.0.incomplete"
		python3 "$ND_LIBDIR/gapcheck.py" "$d/vmcore.0.incomplete" \
		    "$T/sent$i" "$m" || fail "$what: stored bytes differ from those sent"
		assert_gt "$(jget "$m" .coverage.received)" 0 "$what: bytes received"
		gaveup=$((gaveup + 1))
		pass "$what: the client gave up; kept as vmcore.0.incomplete ('$(jget "$m" .reason)'), every stored byte as sent"
		;;
	*)
		cat "$T/bg.$a.log" >&2
		fail "$what: netdump-send exited $rc"
		;;
	esac
done
wait_log "dump [0-9]+ from 127\.0\.$NET\.[0-9]+ (complete|incomplete): " 20 11
assert_no_log "runtime error|AddressSanitizer" "sanitizer reports"
pass "11 lossy dumps: $ok complete, $gaveup given up by the client, none complete with wrong bytes"

stop_server
pass "server exited 0 on SIGTERM"
finish
