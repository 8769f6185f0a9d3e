#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The s3 sink against a store that misbehaves (badstore.py: what no real
# store can be made to do on demand). S3 answers CompleteMultipartUpload
# and CopyObject with 200 before it knows, keeps the connection alive with
# blanks, and may still end in <Error>; a broken store or proxy cuts
# replies short, sends none, or sends one that never ends. A reply is the
# result only when it says so: each dump here is stored whole in the end,
# byte for byte, and none is taken as stored while it is not.
#
#   1. Complete: 200, blanks past 16 KiB, then <Error>   (once)
#   2. Complete: 200 cut short in the middle of <Error>  (once)
#   3. Complete: 200 with no body                        (once)
#   4. Complete: 200 with a body that never ends         (once)
#   5. UploadPart: blanks at 2 KiB/s forever             (once): the
#      request ends at its limit in all (ten stalls), is tried again
#   6. UploadPart refused once, AbortMultipartUpload always: the objects
#      go up from the spool all the same
#   8. PutObject: 200 with <Error>, cut short in one, or a body that
#      never ends (twice each): info and manifest reach the store
#  13. The server killed while the outbox sends a spooled dump: the next
#      server aborts that upload and sends the dump
#  14. UploadPart always refused: the dump keeps to its backoff while
#      other dumps succeed
set -euo pipefail
NET=232
. "$(dirname "$0")/../integration/lib.sh"
WAIT_SCALE=$((WAIT_SCALE * 3))

SPORT=$(python3 "$(dirname "$0")/free_tcp_port.py")
STORE=$T/store
mkdir -p "$STORE"
STORE_PID=""
# The store goes too, then lib.sh's cleanup, which sees the exit status.
_store_cleanup() {
	local rc=$?

	set +e
	[ -z "$STORE_PID" ] || kill "$STORE_PID" 2>/dev/null
	(exit "$rc")
	_nd_cleanup
}
trap _store_cleanup EXIT

# store_start MODE-JSON: badstore.py (again) with these misbehaviours; it
# counts each operation from its start.
store_start() {
	printf '%s\n' "$1" >"$STORE/mode.json"
	if [ -n "$STORE_PID" ]; then
		kill "$STORE_PID"
		wait "$STORE_PID" 2>/dev/null || true
	fi
	python3 "$(dirname "$0")/badstore.py" "$SPORT" "$STORE" &
	STORE_PID=$!
	poll 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $SPORT), 1)" ||
		fail "badstore.py did not listen on $SPORT"
}
export AWS_ACCESS_KEY_ID=badstore AWS_SECRET_ACCESS_KEY=badstore
unset AWS_SESSION_TOKEN AWS_PROFILE

cat >"$T/s3.ini" <<INI
[server]
sink_dir = $ND_SINK_DIR

[sink bucket]
module = s3
endpoint = http://127.0.0.1:$SPORT
bucket = dumps
path_style = yes
spool_dir = $T/spool
part_size = 5M
stall_timeout = 1
retry_interval = 1

[route default]
path = *
sink = bucket
INI
store_start '{}'
start_server -c "$T/s3.ini"

# stored_object ADDR NAME FILE: the object NAME (vmcore, dump.tar.gz...)
# the store holds for ADDR, into FILE, or fail.
stored_object() {
	python3 - "$STORE/objects" "$1" "$2" "$3" <<'PY'
import os, sys, urllib.parse
d, addr, name, out = sys.argv[1:]
for n in os.listdir(d):
    k = urllib.parse.unquote(n)
    if "/" + addr + "/" in k and k.endswith("/" + name):
        open(out, "wb").write(open(os.path.join(d, n), "rb").read())
        sys.exit(0)
sys.exit("no %s of %s in the store: %s" % (name, addr, os.listdir(d)))
PY
}

stored_vmcore() { stored_object "$1" vmcore "$2"; }
_stored() { stored_vmcore "$@" 2>/dev/null; }
_stored_object() { stored_object "$@" 2>/dev/null; }

# dump_lands N WHAT: client N's 11 MiB dump ends up in the store, identical.
dump_lands() {
	local a
	a=$(client_addr "$1")
	send_dump 0 "$a" -q -g 11M -z 0.3 -s $((230 + $1)) -o "$T/sent$1"
	wait_dumps "$a" 1 60
	poll 60 _stored "$a" "$T/got$1" || stored_vmcore "$a" "$T/got$1" ||
		fail "$2: the dump is not in the store"
	assert_same_bytes "$T/got$1" "$T/sent$1"
}

n=0
for bad in complete:err200_ws complete:err200_trunc complete:empty200 \
    complete:huge_body part:drip; do
	n=$((n + 1))
	store_start "{\"${bad%%:*}\": {\"mode\": \"${bad#*:}\", \"times\": 1}}"
	dump_lands "$n" "$bad"
	grep -q " ${bad#*:}\$" "$STORE/requests.log" || fail "$bad: the store never misbehaved"
	pass "${bad%%:*} answered '${bad#*:}' once: not taken for the result; the 11 MiB dump is in the store, identical"
done

# A Complete that succeeds after S3's blanks behind its XML declaration
# (20000 of them: more than a reply holds) is taken: one Complete, no
# abort, nothing sent again.
n=7
store_start '{"complete": {"mode": "ok200_ws", "times": 1}}'
seen=$(wc -l <"$STORE/requests.log")
dump_lands "$n" "a Complete kept alive with blanks"
tail -n +$((seen + 1)) "$STORE/requests.log" >"$T/requests.$n"
assert_eq "$(grep -c ' complete ok200_ws$' "$T/requests.$n")" 1 "Completes answered after blanks"
assert_eq "$(grep -cE ' (complete|abort) ' "$T/requests.$n")" 1 "Completes and aborts in all"
pass "a Complete answered after 20000 blanks: taken at once, nothing sent again"

# A PUT answered 200 with an <Error> body (a broken store: S3 answers a
# failed PUT with an error status), cut short in the middle of one, or
# with a body that never ends did not store the object: the info and
# manifest still reach the store (taken for stored, their spool files
# went while the store held nothing).
n=7
for mode in err200_ws err200_trunc huge_body; do
	n=$((n + 1))
	[ "$n" -ne 9 ] || n=11	# 9 and 10 are the cases below
	store_start "{\"put\": {\"mode\": \"$mode\", \"times\": 2}}"
	seen=$(wc -l <"$STORE/requests.log")
	dump_lands "$n" "PUTs answered 200 with $mode"
	assert_eq "$(tail -n +$((seen + 1)) "$STORE/requests.log" | grep -c " put $mode\$")" 2 "PUTs answered 200 with $mode"
	for what in info manifest.json; do
		poll 30 sh -c "ls '$STORE/objects' | grep -q '$(client_addr "$n")%2F.*%2F$what\$'" ||
			fail "no $what of client $n in the store after a PUT answered 200 with $mode: $(ls "$STORE/objects")"
	done
	pass "two PUTs answered 200 with $mode: not taken; info and manifest.json in the store all the same"
done

# 6. The store refuses one UploadPart and every AbortMultipartUpload (a
# policy that allows PutObject and not the abort): the dump waits in the
# spool with its stale upload to abort, and the next try uploads it all
# the same; the abort is tried again later.
store_start '{"part": {"mode": "403", "times": 1}, "abort": {"mode": "403"}}'
dump_lands 6 "the dump whose abort is refused"
grep -q " abort 403\$" "$STORE/requests.log" || fail "no abort was refused"
# The refused part marked the store down; the next case needs a dump that
# streams, which the sink starts only once the store answers again (a
# dump that begins before that is spooled whole).
wait_log "s3://dumps at http://127\\.0\\.0\\.1:$SPORT answers again" 30
pass "UploadPart refused once and every abort refused: the dump is in the store all the same, identical"

# 9. An incomplete dump's vmcore, whose multipart upload began under the
# guess (vmcore: a complete dump's name): the upload is aborted, never
# completed under that name (completed and then moved, a server that died
# before the move left the cut dump there for good, with no info and no
# manifest beside it), and the spooled copy goes up again under
# vmcore.incomplete, identical. The store would refuse a copy: none is
# asked for.
store_start '{"copy": {"mode": "403", "times": 1}}'
a=$(client_addr 9)
send_dump 0 "$a" -q -g 11M -z 0.3 -s 239 --no-finished -o "$T/sent9" || true
wait_dumps "$a" 1 60
poll 60 _stored_object "$a" vmcore.incomplete "$T/got9" ||
	stored_object "$a" vmcore.incomplete "$T/got9" ||
	fail "the incomplete vmcore is not in the store"
assert_same_bytes "$T/got9" "$T/sent9"
! _stored_object "$a" vmcore "$T/none9" ||
	fail "an object under the complete name vmcore ($(size_of "$T/none9") bytes)"
g9=" /dumps/([^ ]*/)?${a//./\\.}/[^ ]*/vmcore"
ops9=$(grep -E "$g9[? ]" "$STORE/requests.log" | awk '{print $4}' | sort | uniq -c | tr -s ' \n' ' ')
assert_match "$ops9" "create" "requests under the guess vmcore: $ops9"
assert_match "$ops9" "abort" "requests under the guess vmcore: $ops9"
! grep -qE "POST$g9\?uploadId=[^ ]* complete" "$STORE/requests.log" ||
	fail "an upload was completed under the guess vmcore: $ops9"
! grep -qE "/${a//./\\.}/.* copy " "$STORE/requests.log" || fail "a copy was asked for"
pass "an incomplete vmcore whose upload began as vmcore: that upload aborted, never completed; vmcore.incomplete in the store, identical, nothing under vmcore"
stop_server

# 13. The server is killed (SIGKILL, an OOM) while the outbox sends a
# spooled dump again: its multipart upload is named in the record before
# its first part goes, so the next server aborts it (without that record
# the store keeps its parts for good, unseen) and uploads the dump whole.
store_start '{"create": {"mode": "403", "times": 1}, "part": {"mode": "drip", "times": 1000}}'
start_server -c "$T/s3.ini"
a=$(client_addr 13)
send_dump 0 "$a" -q -g 11M -z 0.3 -s 243 -o "$T/sent13"
wait_dumps "$a" 1 60
g13="/dumps/([^ ]*/)?${a//./\\.}/[^ ]*/vmcore"
poll 60 grep -qE "$g13\?partNumber=[0-9]+&uploadId=[^ ]* part drip" "$STORE/requests.log" ||
	fail "the outbox never sent a part again"
uid13=$(grep -oE "$g13\?partNumber=[0-9]+&uploadId=[^ ]* part drip" "$STORE/requests.log" |
	head -1 | sed 's/.*uploadId=\([^ ]*\) .*/\1/')
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
grep -qx "stale_id = $uid13" "$T"/spool/*/pending ||
	fail "the killed server's record does not name its upload $uid13: $(cat "$T"/spool/*/pending)"
store_start '{}'
start_server -c "$T/s3.ini"
poll 60 _stored "$a" "$T/got13" || stored_vmcore "$a" "$T/got13" ||
	fail "the dump is not in the store after the restart"
assert_same_bytes "$T/got13" "$T/sent13"
poll 30 grep -qE "DELETE $g13\?uploadId=$uid13 abort" "$STORE/requests.log" ||
	fail "the killed server's upload $uid13 was never aborted"
pass "killed while the outbox sent a dump again: its upload named in the record, aborted by the next server; the dump in the store, identical"
stop_server

# 14. The store refuses every UploadPart (a part it will not take, while
# PUTs go through): the 11 MiB dump waits in the spool, retried on its
# own backoff (retry_interval = 60 here). Six small dumps then go up one
# by one, each a success after a failure, "answers again": the first
# makes every pending dump due at once, the 11 MiB one included, which
# fails again; the others must not send it again, whole, each time (they
# did: a create and two log lines per small dump, past its backoff).
sed 's/^retry_interval = 1$/retry_interval = 60/' "$T/s3.ini" >"$T/s3-backoff.ini"
store_start '{"part": {"mode": "403"}}'
start_server -c "$T/s3-backoff.ini"
a=$(client_addr 14)
send_dump 0 "$a" -q -g 11M -z 0.3 -s 244 -o "$T/sent14"
wait_dumps "$a" 1 60
sleep 2
for i in 15 16 17 18 19 20; do
	send_dump 0 "$(client_addr $i)" -q -g 1M -z 0.3 -s $((230 + i)) -o "$T/sent$i"
	poll 20 _stored "$(client_addr $i)" "$T/got$i" ||
		fail "the small dump of client $i is not in the store"
done
creates=$(grep -cE " /dumps/([^ ]*/)?${a//./\\.}/[^ ]*/vmcore\?uploads= create" "$STORE/requests.log")
assert_le "$creates" 3 "multipart uploads begun for the refused 11 MiB dump (live, its first try from the spool, one kick)"
pass "a dump whose parts the store refuses, six other dumps stored meanwhile: sent $creates times, not once per success"
stop_server

# 10. One s3 sink behind two archive transforms ("tz | bucket, tg |
# bucket"): each chain's tarball is opened at its archive's end, when the
# first chain's copy may have ended already; both tarballs stay, each
# with the vmcore sent.
if command -v bsdtar >/dev/null; then
	store_start '{}'
	cat >>"$T/s3.ini" <<INI

[sink tz]
module = archive
compression = zstd

[sink tg]
module = archive
compression = gzip
INI
	sed -i 's/^sink = bucket$/sink = tz | bucket, tg | bucket/' "$T/s3.ini"
	start_server -c "$T/s3.ini"
	a=$(client_addr 10)
	send_dump 0 "$a" -q -g 11M -z 0 -s 240 -o "$T/sent10"
	wait_dumps "$a" 1 60
	for ext in tar.zst tar.gz; do
		poll 30 _stored_object "$a" "dump.$ext" "$T/got10.$ext" ||
			stored_object "$a" "dump.$ext" "$T/got10.$ext" ||
			fail "dump.$ext is not in the store"
		mkdir -p "$T/x.$ext"
		bsdtar -xf "$T/got10.$ext" -C "$T/x.$ext" || fail "bsdtar cannot extract dump.$ext"
		assert_same_bytes "$(find "$T/x.$ext" -name 'vmcore*' -type f | head -1)" "$T/sent10"
	done
	pass "tz | bucket, tg | bucket: dump.tar.zst and dump.tar.gz both in the store, each with the vmcore sent"
	stop_server
fi
finish
