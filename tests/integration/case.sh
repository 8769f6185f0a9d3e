#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# case.sh CASE-FILE: run one data-driven integration test, a file
# cases/NAME.case (registered as integration.NAME). The format is in
# docs/testing.md ("Case files"); in short, one statement a line:
#
#   net 111                          the test's NET (required, first)
#   ctest-timeout 300                for CMake only; ctest-labels slow
#   server --timeout 10              start_server options (any number of lines)
#   ini key = value                  a line of the server's -c file
#   random key1 5000                 ${T}/key1: 5000 random bytes
#   send CLIENT EXIT [wait=S] [nosent] NETDUMP-SEND-OPTIONS...
#   <checks on the dump of the last send>
#   pass TEXT                        prints "PASS: TEXT" (ends a check group)
#   stop                             SIGTERM, exit 0 (done at the end anyway)
#
# Everything is done with lib.sh's helpers; a failure names the case file
# and line.
set -euo pipefail

CASE_FILE=${1:?usage: case.sh CASE-FILE}
CASE_LINE=0
[ -f "$CASE_FILE" ] || { echo "FAIL: no case file $CASE_FILE" >&2; exit 1; }
CASE_NAME=$(basename "$CASE_FILE" .case)

# lib.sh needs NET before it is sourced.
NET=$(sed -n 's/^[[:space:]]*net[[:space:]]\{1,\}\([0-9]\{1,\}\)[[:space:]]*$/\1/p' "$CASE_FILE" | head -1)
[ -n "$NET" ] || { echo "FAIL ($CASE_NAME): $CASE_FILE: no 'net N' line" >&2; exit 1; }
# shellcheck disable=SC2034 # read by lib.sh
ND_TEST_NAME=$CASE_NAME
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Every failure, in lib.sh's asserts too, names the statement at fault.
fail() {
	echo "FAIL ($TEST_NAME): $CASE_FILE:$CASE_LINE: $*" >&2
	exit 1
}

SERVER_OPTS=()
INI=""
STARTED=0
STOPPED=0
STEP=0			# sends so far; the checks apply to the last one
declare -A DUMPS=()	# client number -> dumps it started
S_ADDR=() S_DIR=() S_N=() S_SENT=() S_LOG=()
PENDING=0		# checks since the last pass line
GROUP_LINE=0

# ---------------------------------------------------------------- parsing

# _words MAX TEXT: W = the words of TEXT ('...' and "..." quote, no
# escapes); with MAX > 0 the MAX-th word is the rest of TEXT as it is.
_words() {
	local max=$1 s=$2 w="" q="" c i=0 have=0 r

	W=()
	while [ "$i" -lt "${#s}" ]; do
		if [ "$max" -gt 0 ] && [ -z "$q" ] && [ "$have" = 0 ] &&
		    [ $((${#W[@]} + 1)) -eq "$max" ]; then
			r=${s:i}
			W+=("${r#"${r%%[![:space:]]*}"}")
			return 0
		fi
		c=${s:i:1}
		i=$((i + 1))
		if [ -n "$q" ]; then
			if [ "$c" = "$q" ]; then q=""; else w+=$c; fi
		elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
			q=$c
			have=1
		elif [ "$c" = " " ] || [ "$c" = $'\t' ]; then
			if [ "$have" = 1 ]; then W+=("$w"); w=""; have=0; fi
		else
			w+=$c
			have=1
		fi
	done
	[ -z "$q" ] || fail "unterminated $q quote"
	if [ "$have" = 1 ]; then W+=("$w"); fi
}

# _nargs MIN MAX: the statement has MIN..MAX words after its keyword.
_nargs() {
	[ "${#W[@]}" -ge "$1" ] && [ "${#W[@]}" -le "$2" ] ||
		fail "'$KW' takes $1..$2 arguments, got ${#W[@]}: ${W[*]}"
}

# _expand TEXT: EXP = TEXT with ${name} and ${nameK} (K a step, default
# the last) replaced: net T dumpdir sink_dir; addr addr_re dir n sent
# manifest of a step.
_expand() {
	local s=$1 name base k v

	EXP=""
	while [[ $s == *'${'* ]]; do
		EXP+=${s%%'${'*}
		s=${s#*'${'}
		[[ $s == *'}'* ]] || fail "unterminated \${ in: $1"
		name=${s%%'}'*}
		s=${s#*'}'}
		[[ $name =~ ^([A-Za-z_]+)([0-9]*)$ ]] || fail "bad variable \${$name}"
		base=${BASH_REMATCH[1]}
		k=${BASH_REMATCH[2]:-$STEP}
		case $base in
		net) v=$NET ;;
		T) v=$T ;;
		dumpdir) v=$DUMPDIR ;;
		sink_dir) v=$ND_SINK_DIR ;;
		addr | addr_re | dir | n | sent | manifest)
			[ "$k" -ge 1 ] && [ "$k" -le "$STEP" ] ||
				fail "\${$name}: no send step $k yet"
			case $base in
			addr) v=${S_ADDR[k]} ;;
			addr_re) v=${S_ADDR[k]//./\\.} ;;
			dir) v=${S_DIR[k]} ;;
			n) v=${S_N[k]} ;;
			sent)
				v=${S_SENT[k]}
				[ -n "$v" ] || fail "\${$name}: step $k was sent with nosent"
				;;
			manifest) v=${S_DIR[k]}/manifest.${S_N[k]}.json ;;
			esac
			;;
		*) fail "unknown variable \${$name}" ;;
		esac
		EXP+=$v
	done
	EXP+=$s
}

# _path P: PATH = P expanded, relative to the last step's client folder.
_path() {
	_expand "$1"
	case $EXP in
	/*) PATH_=$EXP ;;
	*) PATH_=$D/$EXP ;;
	esac
}

# _value TEXT: VAL = TEXT expanded, or what sha256(F), xxh128(F) (xxhsum
# -H2), size(F), allocated(F) (bytes on disk) or text(F) (without
# newlines) give for F.
_value() {
	local f

	if [[ $1 =~ ^(sha256|xxh128|size|allocated|text)\((.+)\)$ ]]; then
		f=${BASH_REMATCH[1]}
		_path "${BASH_REMATCH[2]}"
		[ -e "$PATH_" ] || fail "$f(): missing $PATH_"
		case $f in
		sha256) VAL=$(sha_of "$PATH_") ;;
		xxh128) VAL=$(xxh_of "$PATH_") ;;
		size) VAL=$(size_of "$PATH_") ;;
		allocated) VAL=$(($(stat -c %b "$PATH_") * $(stat -c %B "$PATH_"))) ;;
		text) VAL=$(tr -d '\n' <"$PATH_") ;;
		esac
	else
		_expand "$1"
		VAL=$EXP
	fi
}

# _compare ACTUAL OP EXPECTED-TEXT WHAT
_compare() {
	local a=$1 op=$2 what=$4

	if [ "$op" = "~" ]; then
		_expand "$3"
		assert_match "$a" "$EXP" "$what"
		return
	fi
	_value "$3"
	case $op in
	=) assert_eq "$a" "$VAL" "$what" ;;
	!=) assert_ne "$a" "$VAL" "$what" ;;
	'>') assert_gt "$a" "$VAL" "$what" ;;
	'>=') assert_ge "$a" "$VAL" "$what" ;;
	'<') assert_lt "$a" "$VAL" "$what" ;;
	'<=') assert_le "$a" "$VAL" "$what" ;;
	*) fail "unknown operator '$op' (= != ~ > >= < <=)" ;;
	esac
}

# ---------------------------------------------------------------- statements

_start() {
	local opts=()

	[ "$STARTED" = 0 ] || return 0
	if [ -n "$INI" ]; then
		printf '%s' "$INI" >"$T/server.ini"
		opts=(-c "$T/server.ini")
	fi
	start_server "${opts[@]}" "${SERVER_OPTS[@]}"
	STARTED=1
}

# The checks since the last pass line get one of their own.
_close_group() {
	if [ "$PENDING" -gt 0 ]; then
		pass "$CASE_NAME.case:$GROUP_LINE: $PENDING checks"
	fi
	PENDING=0
}

# send CLIENT EXIT [wait=S] [nosent] OPTIONS...
_send() {
	local c=$1 want=$2 wait=20 sent="" i=2

	[[ $c =~ ^[0-9]+$ ]] && [[ $want =~ ^[0-9]+$ ]] ||
		fail "send CLIENT EXIT ...: got '$c' '$want'"
	[ "$STOPPED" = 0 ] || fail "send after stop"
	sent=$T/sent.$((STEP + 1))
	while [ "$i" -lt "${#W[@]}" ]; do
		case ${W[i]} in
		wait=*) wait=${W[i]#wait=} ;;
		nosent) sent="" ;;
		*) break ;;
		esac
		i=$((i + 1))
	done
	local opts=("${W[@]:i}") k
	for k in "${!opts[@]}"; do
		_expand "${opts[k]}"
		opts[k]=$EXP
	done
	[ -z "$sent" ] || opts+=(-o "$sent")
	_close_group
	_start
	STEP=$((STEP + 1))
	S_ADDR[STEP]=$(client_addr "$c")
	S_DIR[STEP]=$(client_dir "${S_ADDR[STEP]}")
	S_N[STEP]=${DUMPS[$c]:-0}
	S_SENT[STEP]=$sent
	DUMPS[$c]=$((S_N[STEP] + 1))
	A=${S_ADDR[STEP]} D=${S_DIR[STEP]} N=${S_N[STEP]} M=$D/manifest.$N.json
	send_dump "$want" "$A" "${opts[@]}"
	S_LOG[STEP]=$SEND_LOG
	wait_manifest "$D" "$N" "$wait"
	wait_dumps "$A" $((N + 1)) "$wait"
	GROUP_LINE=$CASE_LINE
}

_check() {
	local what f act def='${sent}'

	[ "$STEP" -gt 0 ] || fail "'$KW': a check before the first send"
	PENDING=$((PENDING + 1))
	case $KW in
	status)
		_nargs 1 2
		[[ ${W[0]} =~ ^(complete|incomplete)$ ]] ||
			fail "status is complete or incomplete, not '${W[0]}'"
		f=${W[1]:-$def}
		if [ "$f" = - ]; then
			assert_manifest "$M" "${W[0]}"
		else
			_path "$f"
			assert_manifest "$M" "${W[0]}" "$PATH_"
		fi
		;;
	reason)
		_nargs 1 1
		_expand "${W[0]}"
		assert_match "$(jget "$M" .reason)" "$EXP" "reason in $M"
		;;
	manifest)
		_nargs 3 3
		_expand "${W[0]}"
		what="$EXP in $M"
		act=$(jget "$M" "$EXP") || fail "jq '$EXP' fails on $M"
		_compare "$act" "${W[1]}" "${W[2]}" "$what"
		;;
	object)
		_nargs 4 4
		_expand "${W[1]}"
		what="$EXP of the ${W[0]} object in $M"
		act=$(mobject "$M" "${W[0]}" | jq -r "$EXP") ||
			fail "jq '$EXP' fails on the ${W[0]} object of $M"
		_compare "$act" "${W[2]}" "${W[3]}" "$what"
		;;
	expect)
		_nargs 3 3
		_value "${W[0]}"
		_compare "$VAL" "${W[1]}" "${W[2]}" "${W[0]}"
		;;
	same | prefix)
		_nargs 1 2
		_path "${W[1]:-$def}"
		f=$PATH_
		_path "${W[0]}"
		if [ "$KW" = same ]; then
			assert_same_bytes "$PATH_" "$f"
		else
			assert_prefix_of "$PATH_" "$f"
		fi
		;;
	file) _nargs 1 1; _path "${W[0]}"; assert_file "$PATH_" ;;
	nofile) _nargs 1 1; _path "${W[0]}"; assert_no_file "$PATH_" ;;
	link)
		_nargs 2 2
		_path "${W[0]}"
		_expand "${W[1]}"
		assert_symlink "$PATH_" "$EXP"
		;;
	mode) _nargs 2 2; _path "${W[0]}"; assert_mode "$PATH_" "${W[1]}" ;;
	contains)
		_nargs 2 2
		_path "${W[0]}"
		_expand "${W[1]}"
		assert_grep "$PATH_" "$EXP" "$(basename "$PATH_")"
		;;
	log) _nargs 1 1; _expand "${W[0]}"; assert_log "$EXP" "wanted line" ;;
	nolog) _nargs 1 1; _expand "${W[0]}"; assert_no_log "$EXP" "unwanted line" ;;
	sendlog)
		_nargs 1 1
		_expand "${W[0]}"
		assert_grep "${S_LOG[STEP]}" "$EXP" "netdump-send's output"
		;;
	notemp) _nargs 0 0; assert_no_temp_files "$DUMPDIR" ;;
	esac
}

# How many words a statement splits into (its last one takes the rest of
# the line as it is); 0: all words.
declare -A ARITY=(
	[net]=1 [ctest-timeout]=1 [ctest-labels]=0 [server]=0 [ini]=1
	[random]=0 [send]=0 [pass]=1 [stop]=0
	[status]=0 [reason]=1 [manifest]=3 [object]=4 [expect]=3 [same]=0
	[prefix]=0 [file]=0 [nofile]=0 [link]=0 [mode]=0 [contains]=2
	[log]=1 [nolog]=1 [sendlog]=1 [notemp]=0
)

_statement() {	# LINE
	local kw rest

	kw=${1%%[[:space:]]*}
	rest=${1:${#kw}}
	rest=${rest#"${rest%%[![:space:]]*}"}
	KW=$kw
	[ -n "${ARITY[$kw]+x}" ] || fail "unknown statement '$kw'"
	_words "${ARITY[$kw]}" "$rest"
	case $kw in
	net | ctest-timeout | ctest-labels) ;;
	server)
		[ "$STARTED" = 0 ] || fail "server options after the server started"
		local w
		for w in "${W[@]}"; do
			_expand "$w"
			SERVER_OPTS+=("$EXP")
		done
		;;
	ini)
		[ "$STARTED" = 0 ] || fail "ini lines after the server started"
		_expand "${W[0]:-}"
		INI+=$EXP$'\n'
		# No sink has a "digest" option: this is [server]'s.
		if [[ $EXP =~ ^digest[[:space:]]*=[[:space:]]*([a-z0-9]+) ]]; then
			DIGEST=${BASH_REMATCH[1]}
		fi
		;;
	random)
		_nargs 2 2
		[[ ${W[0]} =~ ^[A-Za-z0-9_.-]+$ ]] && [[ ${W[1]} =~ ^[0-9]+$ ]] ||
			fail "random NAME BYTES: got '${W[*]}'"
		head -c "${W[1]}" /dev/urandom >"$T/${W[0]}"
		;;
	send) _nargs 2 9999; _send "${W[0]}" "${W[1]}" ;;
	pass)
		_nargs 1 1
		_expand "${W[0]}"
		pass "$EXP"
		PENDING=0
		;;
	stop)
		_nargs 0 0
		_close_group
		_start
		stop_server
		STOPPED=1
		pass "server exited 0 on SIGTERM"
		;;
	*) _check ;;
	esac
}

# ---------------------------------------------------------------- main

# A line ending in " \" goes on on the next; failures name its first line.
stmt="" first=0 lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%$'\r'}
	if [ -z "$stmt" ]; then
		first=$lineno
		line=${line#"${line%%[![:space:]]*}"}
		case $line in '' | '#'*) continue ;; esac
	fi
	if [[ $line == *' \' ]]; then
		stmt+="${line%\\} "
		continue
	fi
	stmt+=$line
	stmt=${stmt%"${stmt##*[![:space:]]}"}
	CASE_LINE=$first
	_statement "$stmt"
	stmt=""
done <"$CASE_FILE"
CASE_LINE=$lineno
[ -z "$stmt" ] || fail "the file ends in a continued line"
[ "$STEP" -gt 0 ] || fail "no send statement"
_close_group
if [ "$STOPPED" = 0 ]; then
	stop_server
	pass "server exited 0 on SIGTERM"
fi
finish
