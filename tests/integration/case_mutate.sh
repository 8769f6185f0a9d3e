#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# case_mutate.sh CASE-FILE [LINE...]: prove that every check of a case can
# fail. For each check line (or the LINEs given) it runs case.sh on a copy
# whose line is turned into its opposite (status swapped, = made !=, a
# regex that matches nothing or everything, file <-> nofile, ...) and
# wants the run to fail naming that line. Not part of ctest (it runs the
# case once per check); run it by hand after writing or changing a case:
#
#   ND_SERVER=build/core/netdump-server ND_SEND=build/client/netdump-send \
#   ND_SINK_DIR=build/sinks bash tests/integration/case_mutate.sh \
#       tests/integration/cases/intact.case
#
# ND_MUTATE_JOBS (default 2) runs that many at once.
set -euo pipefail

CASE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=$(basename "$CASE" .case)
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-mutate-$NAME.XXXXXX")
trap 'rm -rf "$W"' EXIT
JOBS=${ND_MUTATE_JOBS:-2}
NOMATCH='^never matches this line$'

# mutate LINE: the opposite of a check line on stdout; empty: not a check.
mutate() {
	local kw rest op
	kw=${1%%[[:space:]]*}
	rest=${1#"$kw"}
	rest=${rest#"${rest%%[![:space:]]*}"}
	case $kw in
	status)
		case $rest in
		complete*) echo "status incomplete${rest#complete}" ;;
		incomplete*) echo "status complete${rest#incomplete}" ;;
		esac ;;
	reason | log | contains | sendlog)
		if [ "$kw" = contains ]; then
			echo "contains ${rest%%[[:space:]]*} $NOMATCH"
		else
			echo "$kw $NOMATCH"
		fi ;;
	nolog) echo "nolog ." ;;
	manifest | expect | object)
		# The operator is the first of = != ~ > >= < <= standing alone.
		local -a w
		read -r -a w <<<"$rest"
		local i pre="" post
		for i in "${!w[@]}"; do
			case ${w[i]} in
			= | '!=' | '~' | '>' | '>=' | '<' | '<=') op=${w[i]}; break ;;
			esac
			pre+="${w[i]} "
		done
		post=${rest#*" $op "}
		case $op in
		=) echo "$kw $pre!= $post" ;;
		'!=') echo "$kw $pre= $post" ;;
		'~') echo "$kw $pre~ $NOMATCH" ;;
		'>' | '>=') echo "$kw $pre< $post" ;;
		'<' | '<=') echo "$kw $pre> $post" ;;
		esac ;;
	same | prefix)
		# Compared with another file: the manifest.
		echo "$kw ${rest%%[[:space:]]*} \${manifest}" ;;
	file) echo "nofile $rest" ;;
	nofile) echo "file $rest" ;;
	link) echo "link $rest.x" ;;
	mode)
		if [ "${rest##*[[:space:]]}" = 644 ]; then echo "mode ${rest% *} 600"
		else echo "mode ${rest% *} 644"; fi ;;
	esac
}

lines=("$@")
if [ ${#lines[@]} -eq 0 ]; then
	n=0
	while IFS= read -r l || [ -n "$l" ]; do
		n=$((n + 1))
		l=${l#"${l%%[![:space:]]*}"}
		[ -z "$(mutate "$l")" ] || lines+=("$n")
	done <"$CASE"
fi

# run LINE: 0 if the mutated case failed at LINE.
run() {
	local n=$1 l m out
	l=$(sed -n "${n}p" "$CASE")
	l=${l#"${l%%[![:space:]]*}"}
	m=$(mutate "$l")
	[ -n "$m" ] || { echo "line $n is not a check: $l"; return 1; }
	mkdir -p "$W/$n"
	awk -v n="$n" -v m="$m" 'NR == n { print m; next } { print }' "$CASE" >"$W/$n/$NAME.case"
	out=$W/$n/out
	if bash "$HERE/case.sh" "$W/$n/$NAME.case" >"$out" 2>&1; then
		echo "NOT CAUGHT line $n: '$l' -> '$m' passed"
		return 1
	fi
	if ! grep -q "^FAIL ($NAME): .*$NAME.case:$n: " "$out"; then
		echo "WRONG line $n: '$l' -> '$m' failed elsewhere: $(grep -m1 '^FAIL' "$out")"
		return 1
	fi
	echo "caught line $n: $m"
	echo "    $(grep -m1 '^FAIL' "$out")"
}

bad=0 pids=()
for n in "${lines[@]}"; do
	run "$n" >"$W/res.$n" 2>&1 &
	pids+=($!)
	if [ ${#pids[@]} -ge "$JOBS" ]; then
		wait "${pids[0]}" || bad=$((bad + 1))
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
for n in "${lines[@]}"; do cat "$W/res.$n"; done
echo "$NAME: ${#lines[@]} mutations, $((${#lines[@]} - bad)) caught, $bad not"
[ "$bad" -eq 0 ]
