#!/usr/bin/env bash
# Description: `make check`: build a lesson's tests against an implementation
# and run them, printing what each test measured.
#
# Usage: check.sh [LESSON] [IMPL]
#   LESSON  1, 01 or 01-interleaving; empty: every lesson, then a progress table
#   IMPL    student (default), solution, or mutant:NAME
# Exit status 0 only when every test that ran passed.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh

lesson_arg=${1:-}
impl=${2:-student}
build=${BUILD:-build}
export BUILD=$build

harness/tools/deps.sh build || exit 2

if [ -n "$lesson_arg" ]; then
	lessons=$(resolve_lesson "$lesson_arg") || exit 2
else
	lessons=$(all_lessons)
fi

describe_impl() {   # describe_impl LESSON
	case "$impl" in
	student)  echo "your code in lessons/$1/" ;;
	solution) echo "the reference solution in solutions/$1/" ;;
	mutant:*) echo "mutant '${impl#mutant:}' (a deliberately wrong solution: harness/$1/mutants/${impl#mutant:}.patch)" ;;
	esac
}

tag_of() {
	case "$impl" in mutant:*) echo "mutant-${impl#mutant:}" ;; *) echo "$impl" ;; esac
}

# check_one LESSON: build and run; prints the runner's lines. Returns its status.
check_one() {
	local l=$1 out traces limit rc
	out="$build/$l/$(tag_of)"
	traces="$build/traces/$l/$(tag_of)"
	rm -f "$out/results.tsv"
	printf '\nlesson %s \302\267 %s \342\200\224 %s\n' "${l%%-*}" "${l#*-}" "$(describe_impl "$l")"
	mkdir -p "$out"
	# make's own "*** Error" lines say nothing the compiler did not: drop them.
	if ! make --no-print-directory -s -j"$(nproc)" -f harness/mk/lesson.mk \
		LESSON_NAME="$l" IMPL="$impl" BUILD="$build" ${V:+V=$V} >"$out/build.log" 2>&1; then
		grep -v -e '^make\(\[[0-9]*\]\)\?: \*\*\*' -e '^  \(CC\|LD\|AR\|GEN\|TSAN\|ASAN\|PATCH\) ' "$out/build.log"
		printf '  FAIL    build               the tests could not be built: nothing was measured\n'
		return 1
	fi
	grep -v '^  \(CC\|LD\|AR\|GEN\|TSAN\|ASAN\|PATCH\) ' "$out/build.log"   # warnings, if any
	mkdir -p "$traces" && rm -f "$traces"/*.json "$traces"/*.dot "$traces"/*.svg
	limit=$(manifest "$l" RUN_TIMEOUT)
	# Every run of code under test sits under coreutils timeout: the suites
	# have their own .timeout, this is the net under the net.
	ATONCE_RESULTS="$out/results.tsv" ATONCE_TRACE_DIR="$traces" ATONCE_OUT="$out" \
		timeout -k 5 "${limit:-300}" "$out/run" ${CRITERION_ARGS:-}
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		printf '  TIMEOUT all                 the whole run passed %ss and was stopped\n' "${limit:-300}"
	fi
	render_traces "$traces"
	return "$rc"
}

# Timelines of the run, as SVG beside the JSON, when Graphviz is here.
render_traces() {
	local dir=$1 f n=0
	command -v dot >/dev/null 2>&1 || return 0
	for f in "$dir"/*.dot; do
		[ -f "$f" ] || continue
		dot -Tsvg "$f" -o "${f%.dot}.svg" 2>/dev/null && n=$((n + 1))
	done
	[ "$n" -gt 0 ] && printf '  pictures of this run: %s/*.svg (timelines), *.json (open in Perfetto, ui.perfetto.dev)\n' "$dir"
	return 0
}

status=0
table=""
for l in $lessons; do
	check_one "$l" || status=1
	res="$build/$l/$(tag_of)/results.tsv"
	if [ -f "$res" ]; then
		total=$(wc -l <"$res")
		pass=$(awk -F'\t' '$2 == "PASS"' "$res" | wc -l)
		skip=$(awk -F'\t' '$2 == "SKIP"' "$res" | wc -l)
	else
		total=0 pass=0 skip=0
	fi
	if [ "$total" -gt 0 ] && [ "$((pass + skip))" -eq "$total" ]; then
		state=done
	elif [ "$pass" -gt 0 ]; then
		state="in progress"
	else
		state="not started"
	fi
	[ "$total" -eq 0 ] && state="does not build"
	table+=$(printf '%-22s %7s  %-14s %s' "$l" "$pass/$total" \
		"$([ "$skip" -gt 0 ] && echo "${skip} skipped")" "$state")$'\n'
done

if [ -z "$lesson_arg" ]; then
	printf '\nprogress\n%-22s %7s  %-14s %s\n' lesson passed "" state
	printf '%s' "$table"
fi
exit "$status"
