#!/usr/bin/env bash
# Description: `make audit`: are the verdicts deterministic? Runs the whole
# suite of a lesson against its reference and against every mutant, ROUNDS
# times each, one run at a time, and prints each implementation's verdicts.
#
# Usage: audit.sh [LESSON] [ROUNDS]     (ROUNDS defaults to 3)
#        ONLY="name ..." audit.sh ...    only these implementations
#
# A grader must give the same score twice, so for every implementation each
# test must get the same verdict in every round.  A line is flagged
#   FLAKY       when a test's verdict changed from one round to another;
#   COLLATERAL  when a mutant fails a test it is not listed for in mutants.tsv
#               (not wrong in itself, but the student then reads about a
#               mistake they did not make: worth a look);
#   MISSED      when a mutant passes a test listed as catching it.
# Exit status 1 when anything is FLAKY or MISSED.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh

rounds=${2:-3}
build=${BUILD:-build}/audit
harness/tools/deps.sh build || exit 2
if [ -n "${1:-}" ]; then lessons=$(resolve_lesson "$1") || exit 2; else lessons=$(all_lessons); fi

status=0
# verdicts LESSON IMPL -> "test=VERDICT ..." for one run, in declaration order
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
	awk -F'\t' '{ printf "%s=%s ", $1, $2 }' "$out/results.tsv" 2>/dev/null
}

for l in $lessons; do
	printf '\nlesson %s: %s round(s) each\n' "$l" "$rounds"
	impls="solution"
	while IFS=$'\t' read -r name _; do impls+=" mutant:$name"; done < <(mutants_of "$l")
	for impl in $impls; do
		if [ -n "${ONLY:-}" ] && ! [[ " $ONLY " == *" ${impl#mutant:} "* ]]; then continue; fi
		if ! make --no-print-directory -s -f harness/mk/lesson.mk LESSON_NAME="$l" \
			IMPL="$impl" BUILD="$build" >/dev/null 2>&1; then
			printf '  %-22s does not build\n' "${impl#mutant:}"; status=1; continue
		fi
		runs=()
		for ((r = 0; r < rounds; r++)); do runs+=("$(verdicts "$l" "$impl")"); done
		caught=""
		[ "$impl" != solution ] && caught=$(mutants_of "$l" | awk -F'\t' -v m="${impl#mutant:}" '$1 == m { print $2 }')
		printf '%s\n' "${runs[@]}" | awk -v name="${impl#mutant:}" -v caught=",$caught," '
			{ for (i = 1; i <= NF; i++) { split($i, kv, "="); t = kv[1]; v = kv[2];
				if (!(t in seen)) { order[++n] = t; seen[t] = v } else if (index(seen[t], v) == 0) seen[t] = seen[t] "/" v } }
			END {
				line = ""; bad = 0
				for (i = 1; i <= n; i++) {
					t = order[i]; v = seen[t]; listed = index(caught, "," t ",") > 0
					flag = ""
					if (v ~ /\//) { flag = " FLAKY"; bad = 1 }
					else if (name == "solution" && v != "PASS" && v != "SKIP") { flag = " WRONG"; bad = 1 }
					else if (name != "solution" && listed && v == "PASS") { flag = " MISSED"; bad = 1 }
					else if (name != "solution" && !listed && v != "PASS" && v != "SKIP") flag = " COLLATERAL"
					if (v != "PASS" || flag != "") line = line sprintf(" %s=%s%s", t, v, flag)
				}
				printf "  %-22s%s\n", name, (line == "" ? " all pass" : line)
				exit bad
			}' || status=1
	done
done
exit "$status"
