#!/usr/bin/env bash
# Description: `make audit`: are the verdicts deterministic? Runs the whole
# suite of a lesson against its reference and against every mutant, several
# rounds each, one run at a time, and prints each implementation's verdicts.
#
# Usage: audit.sh [LESSON] [ROUNDS]
#        ROUNDS       rounds for a mutant that is not racy (default 3)
#        RACY_ROUNDS  rounds for the reference and for every racy mutant
#                     (default 10; never fewer than ROUNDS)
#        ONLY="name ..."  only these implementations ("solution", mutant
#                     names, or the word "racy" for every racy mutant)
# `make audit` with no arguments: every lesson, 10 rounds for the reference
# and the racy mutants, 3 for the rest.
#
# Which mutants are racy: those named in RACY_MUTANTS in the lesson's
# harness/NN-name/lesson.mk, the same list `make test` runs twice: mutants
# whose mistake is a race or a wait that does not wait, so whether it shows
# in a given run depends on how threads or processes happen to be
# scheduled (a data race, a check-then-act, a lost wake-up, a use after
# free by another thread). Their tests must provoke the mistake every time
# (a ThreadSanitizer driver, a forced interleaving, a latch), and ten
# rounds are what make "every time" believable. The reference gets as many
# rounds: every check that reads the machine's load runs on it, and a
# correct program must never be docked.
#
# A grader must give the same score twice, so for every implementation each
# test must get the same verdict in every round.  A line is flagged
#   FLAKY       when a test's verdict changed from one round to another;
#   WRONG       when the reference fails a test;
#   MISSED      when a mutant passes a test listed as catching it;
#   COLLATERAL  when a mutant fails a test it is not listed for in mutants.tsv
#               (not wrong in itself, but the student then reads about a
#               mistake they did not make: worth a look);
#   LOADSKIP    when a test passed in some rounds and was skipped in others
#               (or in all) *because the machine was overloaded*: a skip
#               whose reason is at_judge_machine()'s "the machine is
#               overloaded" (harness/lib/at_cpu.c), shown as SKIP(load).
#               That is the harness refusing to judge parallelism while
#               other programs hold the CPUs, not a flake: counted, not
#               failed. A load skip beside a FAIL (a wrong program that
#               fails on a quiet machine and skips on a busy one), or beside
#               another skip, stays FLAKY; beside a PASS on a test listed as
#               catching the mutant it is MISSED.
# Each lesson ends with its counts and duration, the run with the totals.
# Exit status 1 when anything is FLAKY, WRONG, MISSED or does not build.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh

rounds=${2:-3}
racy_rounds=${RACY_ROUNDS:-10}
case "$rounds$racy_rounds" in *[!0-9]*) echo "audit.sh: ROUNDS and RACY_ROUNDS are numbers" >&2; exit 2 ;; esac
((racy_rounds < rounds)) && racy_rounds=$rounds
build=${BUILD:-build}/audit
harness/tools/deps.sh build || exit 2
if [ -n "${1:-}" ]; then lessons=$(resolve_lesson "$1") || exit 2; else lessons=$(all_lessons); fi

status=0
declare -A total=()
# verdicts LESSON IMPL -> "test=VERDICT ..." for one run, in declaration
# order; a skip for an overloaded machine is SKIP(load)
verdicts() {
	local l=$1 impl=$2 tag out limit
	case "$impl" in mutant:*) tag="mutant-${impl#mutant:}" ;; *) tag=$impl ;; esac
	out=$build/$l/$tag
	mkdir -p "$out"
	rm -f "$out/results.tsv"
	limit=$(manifest "$l" RUN_TIMEOUT)
	NO_COLOR=1 ATONCE_RESULTS="$out/results.tsv" ATONCE_OUT="$out" \
		ATONCE_TRACE_DIR="$out/traces" \
		timeout -k 5 "${limit:-300}" "$out/run" >"$out/last.out" 2>&1
	# keep each round's output: a flaky verdict's story is in one of them
	cp -f "$out/last.out" "$out/round-$3.out" 2>/dev/null
	awk -F'\t' '{ v = $2; if (v == "SKIP" && $4 ~ /the machine is overloaded/) v = "SKIP(load)"; printf "%s=%s ", $1, v }' \
		"$out/results.tsv" 2>/dev/null
}

for l in $lessons; do
	t0=$(date +%s)
	declare -A count=()
	printf '\nlesson %s: %s round(s) for the reference and racy mutants, %s for the rest\n' \
		"$l" "$racy_rounds" "$rounds"
	impls="solution"
	declare -A racy=()
	for name in $(manifest "$l" RACY_MUTANTS); do racy[$name]=1; done
	while IFS=$'\t' read -r name _; do impls+=" mutant:$name"; done < <(mutants_of "$l")
	for impl in $impls; do
		name=${impl#mutant:}
		if [ -n "${ONLY:-}" ] && ! [[ " $ONLY " == *" $name "* ]] &&
			! { [[ " $ONLY " == *" racy "* ]] && [ -n "${racy[$name]:-}" ]; }; then
			continue
		fi
		if ! make --no-print-directory -s -f harness/mk/lesson.mk LESSON_NAME="$l" \
			IMPL="$impl" BUILD="$build" >/dev/null 2>&1; then
			printf '  %-28s does not build\n' "$name"; status=1
			count[BUILD]=$((${count[BUILD]:-0} + 1)); continue
		fi
		n=$rounds
		[ "$impl" = solution ] || [ -n "${racy[$name]:-}" ] && n=$racy_rounds
		runs=()
		for ((r = 0; r < n; r++)); do runs+=("$(verdicts "$l" "$impl" "$r")"); done
		caught=""
		[ "$impl" != solution ] && caught=$(mutants_of "$l" | awk -F'\t' -v m="$name" '$1 == m { print $2 }')
		res=$(printf '%s\n' "${runs[@]}" | awk -v name="$name" -v caught=",$caught," -v n="$n" -v racy="${racy[$name]:-}" '
			{ for (i = 1; i <= NF; i++) { split($i, kv, "="); t = kv[1]; v = kv[2];
				if (!(t in nv)) { order[++nt] = t; nv[t] = 0 }
				if (!((t, v) in had)) { had[t, v] = 1; vs[t, ++nv[t]] = v } } }
			END {
				line = ""; bad = 0
				for (i = 1; i <= nt; i++) {
					t = order[i]; listed = index(caught, "," t ",") > 0
					v = ""; pass = 0; load = 0; other = 0
					for (j = 1; j <= nv[t]; j++) {
						v = v (j > 1 ? "/" : "") vs[t, j]
						if (vs[t, j] == "PASS") pass = 1
						else if (vs[t, j] == "SKIP(load)") load = 1
						else other = 1
					}
					flag = ""
					if (load && !other && name != "solution" && listed && pass) flag = "MISSED"
					else if (load && !other) flag = "LOADSKIP"
					else if (nv[t] > 1) flag = "FLAKY"
					else if (name == "solution" && v != "PASS" && v != "SKIP") flag = "WRONG"
					else if (name != "solution" && listed && v == "PASS") flag = "MISSED"
					else if (name != "solution" && !listed && v != "PASS" && v != "SKIP") flag = "COLLATERAL"
					if (flag != "") { cnt[flag]++; if (flag != "LOADSKIP" && flag != "COLLATERAL") bad = 1 }
					if (v != "PASS" || flag != "") line = line sprintf(" %s=%s%s", t, v, flag == "" ? "" : " " flag)
				}
				printf "  %-28s%s%s\n", name " (" n (racy ? ", racy" : "") ")", (line == "" ? " all pass" : line), ""
				for (f in cnt) printf "#count %s %d\n", f, cnt[f]
				exit bad
			}') || status=1
		printf '%s\n' "$res" | grep -v '^#count '
		while read -r _ f c; do
			count[$f]=$((${count[$f]:-0} + c)); total[$f]=$((${total[$f]:-0} + c))
		done < <(printf '%s\n' "$res" | grep '^#count ')
		count[IMPLS]=$((${count[IMPLS]:-0} + 1)); total[IMPLS]=$((${total[IMPLS]:-0} + 1))
	done
	[ -n "${count[BUILD]:-}" ] && total[BUILD]=$((${total[BUILD]:-0} + count[BUILD]))
	printf '  %s: %d implementation(s) in %ds: FLAKY %d, MISSED %d, WRONG %d, COLLATERAL %d, LOADSKIP %d%s\n' \
		"$l" "${count[IMPLS]:-0}" "$(($(date +%s) - t0))" "${count[FLAKY]:-0}" "${count[MISSED]:-0}" \
		"${count[WRONG]:-0}" "${count[COLLATERAL]:-0}" "${count[LOADSKIP]:-0}" \
		"${count[BUILD]:+, ${count[BUILD]} not built}"
	unset count racy
done
printf '\naudit: %d implementation(s): FLAKY %d, MISSED %d, WRONG %d, COLLATERAL %d, LOADSKIP %d%s\n' \
	"${total[IMPLS]:-0}" "${total[FLAKY]:-0}" "${total[MISSED]:-0}" "${total[WRONG]:-0}" \
	"${total[COLLATERAL]:-0}" "${total[LOADSKIP]:-0}" "${total[BUILD]:+, ${total[BUILD]} not built}"
exit "$status"
