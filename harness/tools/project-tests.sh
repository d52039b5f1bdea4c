#!/usr/bin/env bash
# Description: `make test`, the project's own suite. It proves the harness
# tells right from wrong:
#   - the harness's self-tests pass, and the runner's verdicts on tests that
#     misbehave on purpose (exit(0) mid-way, crash, time-out) are right;
#   - for every lesson: the skeleton compiles cleanly and fails; the
#     reference solution passes; every mutant fails on the test meant to
#     catch it (harness/NN-*/mutants.tsv), and every test has such a mutant;
#     skeleton and solution trees mirror each other;
#   - every chapter excerpt matches the code it names, every picture a
#     chapter shows exists, every demo program compiles and runs, every
#     .dot renders to its committed SVG, every slide deck builds, and in
#     headless Chromium every slide and chapter loads with its pictures and
#     diagram text large enough to read (harness/tools/browser.sh);
#   - the students' repository (make student-repo) holds nothing of the
#     references, and its make check runs (student-repo-test.sh);
#   - the autograder grades references, skeletons, mutants and a corpus of
#     hostile submissions right, in its sandbox (grading/tests/run.sh).
# Ends with the line "N passed, N failed". Exit 0 only when nothing failed.
#
# Environment: ONLY=NN-name (one lesson), KEEP_GOING is always on.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
build=${BUILD:-build}/test
export BUILD=$build
log=$build/log
mkdir -p "$log"
rm -f "$log/times.tsv"
passed=0 failed=0 skipped=0 t_start=$(date +%s)

harness/tools/deps.sh build docs slides grade || exit 2

ok()   { passed=$((passed + 1)); printf '  ok      %s\n' "$1"; }
failures=()   # "section: check", recalled at the end where a log's tail shows them
fail() {
	failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"
	failures+=("${section_name:-}: $1")
	[ -n "${2:-}" ] && [ -f "$2" ] && sed -e 's/^/          | /' "$2" | tail -n "${3:-25}"
	return 0
}
skip() { skipped=$((skipped + 1)); printf '  skip    %s\n' "$1"; }
section_start=$(date +%s)
section() {
	local now
	now=$(date +%s)
	[ -n "${section_name:-}" ] && printf '  (%s: %ss)\n' "$section_name" "$((now - section_start))"
	section_name=$1 section_start=$now
	[ -n "$1" ] && printf '\n%s\n' "$1"
	return 0
}

# results_status RESULTS TEST -> the runner's verdict on TEST (PASS, FAIL, ...)
results_status() { awk -F'\t' -v t="$2" '$1 == t { print $2 }' "$1"; }

# run_impl LESSON IMPL [criterion args...]: build and run; the binary's exit
# status, or 200 when the build failed. Output in $log/LESSON.TAG.out.
# With ON_DEMAND=1 only the test binary is built at first; the sanitizer
# drivers (slow to build) only when a test that ran asked for one.
run_impl() {
	local l=$1 impl=$2 tag out rc
	shift 2
	case "$impl" in mutant:*) tag="mutant-${impl#mutant:}" ;; *) tag=$impl ;; esac
	out=$build/$l/$tag
	mkdir -p "$out"
	rm -f "$out/.drivers-wanted"
	# (Drivers built before are kept up to date by make: no short cut then.)
	if [ "${ON_DEMAND:-0}" = 1 ] && ! compgen -G "$out/[at]san_*" >/dev/null; then
		build_impl "$l" "$impl" "$tag" tests || return 200
		ATONCE_DRIVERS_ON_DEMAND=1 run_built "$l" "$tag" "$@"; rc=$?
		[ -e "$out/.drivers-wanted" ] || return "$rc"
		rm -f "$out/.drivers-wanted"
	fi
	build_impl "$l" "$impl" "$tag" || return 200
	run_built "$l" "$tag" "$@"
}

# timed_run_impl: run_impl, its wall time appended to $log/times.tsv
# (lesson, implementation, seconds, exit status): where make test's time goes.
timed_run_impl() {
	local t0=$SECONDS rc
	run_impl "$@"; rc=$?
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$((SECONDS - t0))" "$rc" >>"$log/times.tsv"
	return "$rc"
}

# build_impl LESSON IMPL TAG [TARGET]: make, quietly, -Werror
build_impl() {
	make --no-print-directory -s -j"$(nproc)" -f harness/mk/lesson.mk LESSON_NAME="$1" \
		IMPL="$2" BUILD="$build" WERROR=1 ${4:+"$4"} >"$log/$1.$3.out" 2>&1
}

# run_built LESSON TAG [criterion args...]: run the built suite under its timeout
run_built() {
	local l=$1 tag=$2 out limit
	shift 2
	out=$build/$l/$tag
	rm -f "$out/results.tsv"
	limit=$(manifest "$l" RUN_TIMEOUT)
	NO_COLOR=1 ATONCE_RESULTS="$out/results.tsv" ATONCE_OUT="$out" \
		ATONCE_TRACE_DIR="$build/traces" \
		timeout -k 5 "${limit:-300}" "$out/run" "$@" >>"$log/$l.$tag.out" 2>&1
}

# ---------------------------------------------------------------- harness
selftests() {
	section "harness self-tests"
	local out=$build/selftest
	mkdir -p "$out" "$build/traces"
	if ! make --no-print-directory -s -f harness/mk/selftest.mk BUILD="$build" WERROR=1 \
		>"$log/selftest.build" 2>&1; then
		fail "the harness and its self-tests build with -Werror" "$log/selftest.build"
		return
	fi
	ok "the harness and its self-tests build with -Werror"
	if NO_COLOR=1 ATONCE_RESULTS="$out/results.tsv" ATONCE_TRACE_DIR="$build/traces" \
		timeout -k 5 300 "$out/run" >"$log/selftest.out" 2>&1; then
		ok "harness self-tests: $(tail -n 1 "$log/selftest.out" | sed 's/^ *//')"
	else
		fail "harness self-tests" "$log/selftest.out" 40
	fi
	# Perfetto shows a track per (pid, tid): each lane's track has a name.
	if python3 -c 'import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
named = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
used = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "X"}
sys.exit(0 if used and used <= named and any(e["name"] == "process_name" for e in ev) else 1)' \
		"$build/traces/selftest.json" 2>/dev/null &&
		dot -Tsvg "$build/traces/selftest.dot" -o "$build/traces/selftest.svg" 2>"$log/trace.err"; then
		ok "a recorded trace is valid JSON, names its process and every lane's track, and its timeline renders"
	else
		fail "a recorded trace is valid JSON, names its tracks, and its timeline renders" "$log/trace.err"
	fi

	# The runner's verdicts: each case's name starts with what it must get.
	NO_COLOR=1 ATONCE_RESULTS="$out/cases.tsv" timeout -k 5 120 \
		"$out/runner_cases" >"$log/runner_cases.out" 2>&1
	local bad
	bad=$(awk -F'\t' '{ want = toupper($1); sub(/_.*/, "", want);
		if (want == "EXIT" || want == "CRASH" || want == "TIMEOUT" || want == "SKIP" || want == "PASS" || want == "FAIL") {
			if ($2 != want) print $1 ": " $2 " (want " want ")" } }' "$out/cases.tsv" 2>/dev/null)
	if [ -s "$out/cases.tsv" ] && [ -z "$bad" ] && [ "$(wc -l <"$out/cases.tsv")" -ge 9 ]; then
		ok "the runner's verdicts: exit(0) mid-test is a failure, crash, time-out, skip, pass"
	else
		echo "$bad" >"$log/runner_cases.bad"
		fail "the runner's verdicts on misbehaving tests" "$log/runner_cases.bad"
	fi
	# The measured line: what a test saw so far when a check stopped it
	# before its AT_MEASURED; that AT_MEASURED alone when it got there.
	bad=$(awk -F'\t' '$1 == "fail_before_measured" && $3 != "figure so far: 3 of 4" ||
		$1 == "pass_so_far_replaced" && $3 != "figure: 4 of 4" { print $1 ": measured \"" $3 "\"" }
		$1 ~ /^(fail_before_measured|pass_so_far_replaced)$/ { n++ } END { if (n != 2) print n + 0 " of the 2 cases ran" }' \
		"$out/cases.tsv" 2>/dev/null)
	if [ -z "$bad" ]; then
		ok "the runner's measured line: what a failing test saw so far (AT_MEASURED_SO_FAR), replaced by its AT_MEASURED"
	else
		echo "$bad" >"$log/runner_measured.bad"
		fail "the runner's measured line (AT_MEASURED_SO_FAR)" "$log/runner_measured.bad"
	fi
}

# ---------------------------------------------------------------- lessons
lesson_tests() {
	local l=$1 res rc n_fail n_pass tests uncovered
	section "lesson $l"

	# Mirrored trees: every solution file has a skeleton file of that name.
	local f missing=""
	for f in $(manifest "$l" STUDENT_FILES); do
		[ -f "lessons/$l/$f" ] && [ -f "solutions/$l/$f" ] || missing+=" $f"
	done
	if [ -z "$missing" ]; then ok "$l: skeleton and solution hold the same student files"
	else fail "$l: student files missing from lessons/ or solutions/:$missing"; fi

	# The skeleton compiles without a warning, and fails.
	timed_run_impl "$l" student; rc=$?
	res=$build/$l/student/results.tsv
	if [ "$rc" -eq 200 ]; then
		fail "$l: the skeleton compiles cleanly" "$log/$l.student.out"
	elif [ "$rc" -ne 0 ] && [ -s "$res" ]; then
		n_pass=$(awk -F'\t' '$2 == "PASS"' "$res" | wc -l)
		ok "$l: the skeleton compiles cleanly and fails ($n_pass of $(wc -l <"$res") tests pass on it)"
	else
		fail "$l: the skeleton must fail its tests (exit $rc)" "$log/$l.student.out"
	fi

	# The reference passes.
	timed_run_impl "$l" solution; rc=$?
	res=$build/$l/solution/results.tsv
	if [ "$rc" -eq 0 ] && [ -s "$res" ]; then
		ok "$l: the reference solution passes: $(awk -F'\t' '{ print $2 }' "$res" | sort | uniq -c | tr -s ' ' | tr '\n' ',' | sed 's/,$//;s/^ //')"
	else
		fail "$l: the reference solution passes" "$log/$l.solution.out" 40
	fi
	tests=$(awk -F'\t' '{ print $1 }' "$res" 2>/dev/null)

	# Every mutant fails on the test that must catch it.
	local name caught mistake t st attempt
	prefetch_mutants "$l"
	while IFS=$'\t' read -r name caught mistake; do
		[ -n "$name" ] || continue
		if [ ! -f "harness/$l/mutants/$name.patch" ]; then
			fail "$l: mutant $name is listed but harness/$l/mutants/$name.patch is missing"
			continue
		fi
		# A verdict of SKIP means the machine could not judge just now
		# (overloaded): ask again, twice at most.
		for attempt in 1 2 3; do
			if [ "$attempt" = 1 ] && [ -f "$build/$l/mutant-$name/.prefetched" ]; then
				rc=$(cat "$build/$l/mutant-$name/.prefetched")
			else
				run_mutant "$l" "$name" "$caught"; rc=$?
			fi
			rm -f "$build/$l/mutant-$name/.prefetched"
			res=$build/$l/mutant-$name/results.tsv
			grep -q $'\tSKIP\t' "$res" 2>/dev/null || break
		done
		if [ "$rc" -eq 200 ]; then
			fail "$l: mutant $name applies to the reference and builds" "$log/$l.mutant-$name.out"
			continue
		fi
		# Caught: every test meant to catch it failed; a test the machine
		# could not judge (SKIP) is named, and at least one must have failed.
		local verdicts="" n_failed=0 n_escaped=0
		for t in ${caught//,/ }; do
			st=$(results_status "$res" "$t")
			verdicts+=" $t=${st:-not-run}"
			case "$st" in
			FAIL | CRASH | TIMEOUT | EXIT) n_failed=$((n_failed + 1)) ;;
			SKIP) ;;
			*) n_escaped=$((n_escaped + 1)) ;;
			esac
		done
		if [ "$n_escaped" -eq 0 ] && [ "$n_failed" -eq 0 ]; then
			skip "$l: mutant $name: its tests skipped on this machine ($(awk -F'\t' '{ print $4 }' "$res" | head -n 1))"
		elif [ "$n_escaped" -eq 0 ]; then
			ok "$l: mutant $name ($mistake) is caught:$verdicts"
		else
			fail "$l: mutant $name ($mistake) must fail:$verdicts" "$log/$l.mutant-$name.out"
		fi
	done < <(mutants_of "$l")

	racy_tests "$l"

	# Every test can fail: each is the target of at least one mutant.
	uncovered=""
	for t in $tests; do
		mutants_of "$l" | awk -F'\t' -v t="$t" '{ n = split($2, c, ","); for (i = 1; i <= n; i++) if (c[i] == t) found = 1 } END { exit !found }' ||
			uncovered+=" $t"
	done
	if [ -z "$uncovered" ]; then ok "$l: every test has a mutant that it must reject"
	else fail "$l: tests no mutant is mapped to (a check that cannot fail?):$uncovered"; fi

	docs_tests "$l"
}

# run_mutant LESSON NAME CAUGHT: the mutant's catching tests only (fast,
# and exact; Criterion's filter is an extended glob: */@(a|b)).
run_mutant() {
	ON_DEMAND=1 timed_run_impl "$1" "mutant:$2" --filter "*/@(${3//,/|})"
}

# prefetch_mutants LESSON: the mutants whose catching tests may share the
# machine (none of them in EXCLUSIVE_TESTS) are built and run two at a
# time, as the grader runs students' shared tests side by side; each
# leaves its exit status in .prefetched for the loop above, which judges
# them in order, reruns a SKIP alone, and runs the other mutants alone.
prefetch_mutants() {
	local l=$1 name caught mistake t exclusive running=0
	rm -f "$build/$l"/mutant-*/.prefetched
	exclusive=" $(manifest "$l" EXCLUSIVE_TESTS) "
	while IFS=$'\t' read -r name caught mistake; do
		[ -n "$name" ] && [ -f "harness/$l/mutants/$name.patch" ] || continue
		for t in ${caught//,/ }; do
			[[ "$exclusive" == *" $t "* ]] && continue 2
		done
		if [ "$running" -ge 2 ]; then
			wait -n
			running=$((running - 1))
		fi
		(
			run_mutant "$l" "$name" "$caught"
			echo $? >"$build/$l/mutant-$name/.prefetched"
		) &
		running=$((running + 1))
	done < <(mutants_of "$l")
	wait
}

# Mutants whose mistake is a race or a wait that does not wait (RACY_MUTANTS
# in the lesson's lesson.mk): their whole suite runs twice and must give the
# same verdicts, test for test, since grading twice must give the same
# score. A test that skipped in either run (machine overloaded) is left out.
racy_tests() {
	local l=$1 name a b differ
	for name in $(manifest "$l" RACY_MUTANTS); do
		timed_run_impl "$l" "mutant:$name"
		a=$(awk -F'\t' '{ print $1 "=" $2 }' "$build/$l/mutant-$name/results.tsv" 2>/dev/null)
		timed_run_impl "$l" "mutant:$name"
		b=$(awk -F'\t' '{ print $1 "=" $2 }' "$build/$l/mutant-$name/results.tsv" 2>/dev/null)
		differ=$(join -t= <(sort <<<"$a") <(sort <<<"$b") | awk -F= '$2 != $3 && $2 != "SKIP" && $3 != "SKIP" { printf " %s=%s/%s", $1, $2, $3 }')
		if [ -z "$a" ] || [ -z "$b" ] || [ "$(wc -l <<<"$a")" != "$(wc -l <<<"$b")" ]; then
			fail "$l: mutant $name (a race) runs its whole suite twice" "$log/$l.mutant-$name.out"
		elif [ -z "$differ" ]; then
			ok "$l: mutant $name (a race) gets the same verdicts twice:$(grep -v '=PASS$' <<<"$a" | tr '\n' ' ' | sed 's/^/ /;s/ $//')"
		else
			fail "$l: mutant $name (a race) must get the same verdicts twice:$differ" "$log/$l.mutant-$name.out"
		fi
	done
}

docs_tests() {
	local l=$1 md chapters="" d bin extra n=0 bad=0
	for md in "lessons/$l/README.md" "solutions/$l/README.md"; do
		[ -f "$md" ] && chapters+=" $md"
	done
	if [ -f "lessons/$l/README.md" ]; then ok "$l: has a chapter"; else fail "$l: lessons/$l/README.md (the chapter) is missing"; fi
	if [ -n "$chapters" ]; then
		# shellcheck disable=SC2086
		if python3 harness/tools/anchors.py check $chapters >"$log/$l.anchors" 2>&1; then
			ok "$l: $(cat "$log/$l.anchors")"
		else
			fail "$l: chapter excerpts match the code" "$log/$l.anchors"
		fi
		# shellcheck disable=SC2086
		if python3 harness/tools/links.py $chapters >"$log/$l.links" 2>&1; then
			ok "$l: $(cat "$log/$l.links")"
		else
			fail "$l: every picture and file a chapter links to exists" "$log/$l.links"
		fi
	fi

	# Demo programs: compile with -Werror, run, exit 0. The 60 s are a guard
	# against a hang, not a speed limit: a demo that computes (gil_io) took
	# over 10 s on a machine with every CPU busy.
	extra=$(manifest "$l" LDLIBS_EXTRA)
	mkdir -p "$build/$l/demo"
	for d in lessons/"$l"/demo/*.c; do
		[ -f "$d" ] || continue
		n=$((n + 1))
		bin=$build/$l/demo/$(basename "${d%.c}")
		# shellcheck disable=SC2086
		if ! ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -pthread -O2 -Wall -Wextra -Werror \
			-I"lessons/$l" -o "$bin" "$d" $extra >"$log/$l.demo" 2>&1; then
			fail "$l: demo $d compiles with -Werror" "$log/$l.demo"; bad=1; continue
		fi
		if ! (cd "$build/$l/demo" && timeout -k 2 60 "./$(basename "$bin")") >"$log/$l.demo" 2>&1 </dev/null; then
			fail "$l: demo $d runs and exits 0 (within 60 s)" "$log/$l.demo"; bad=1
		fi
	done
	[ "$n" -gt 0 ] && [ "$bad" -eq 0 ] && ok "$l: $n demo program(s) compile with -Werror and run"
	return 0
}

# ---------------------------------------------------------------- course-wide
course_tests() {
	section "the test programs"
	# They load a stand-in for Criterion's libgit2 (criterion-nogit.sh),
	# which draws no diffs: no test may rely on an eq() assertion's diff.
	local uses linked
	uses=$(grep -rnE '\bcr_(assert|expect)\(\s*(not\()?(eq|ne|lt|le|gt|ge|zero)\(' harness \
		--include='*.c' --include='*.h' | head -n 3)
	linked=$(ldd "$build/01-interleaving/solution/run" 2>/dev/null | grep 'libgit2')
	if [ -n "$uses" ]; then
		fail "no test uses Criterion's eq() assertions (the test programs load no libgit2 to diff them): $uses"
	elif [ -s "$build/harness/nogit/flags" ] && [[ "$linked" != *harness/nogit/libgit2* ]]; then
		fail "the test programs load the stand-in libgit2 (ldd says: ${linked:-nothing})"
	elif [ -s "$build/harness/nogit/flags" ]; then
		ok "the test programs load a stand-in for Criterion's libgit2 (build/harness/nogit/), and no test uses the eq() assertions it would diff"
	else
		ok "the test programs load Criterion's own libgit2 (this Criterion calls more of it than the stand-in has)"
	fi

	section "diagrams and slides"
	if harness/tools/diagrams.sh --check >"$log/diagrams" 2>&1; then
		ok "$(tail -n 1 "$log/diagrams")"
	else
		fail "every diagram renders and its SVG is up to date" "$log/diagrams"
	fi
	if [ -x harness/tools/slides.sh ]; then
		if harness/tools/slides.sh --check >"$log/slides" 2>&1; then
			ok "every slide deck builds: $(tail -n 1 "$log/slides")"
		else
			fail "every slide deck builds" "$log/slides"
		fi
	fi
	if python3 harness/tools/anchors.py check README.md >"$log/readme.anchors" 2>&1; then
		ok "README.md: $(cat "$log/readme.anchors")"
	else
		fail "README.md's excerpts match the files they quote" "$log/readme.anchors"
	fi
	local l missing=""
	for l in $(all_lessons); do
		ls slides/"$l".md >/dev/null 2>&1 || missing+=" $l"
	done
	if [ -z "$missing" ]; then ok "every lesson has a slide deck"
	else fail "lessons without a slide deck (slides/NN-name.md):$missing"; fi
}

# The browser check (harness/tools/browser.sh) runs in the background while
# the grader's tests do: it mostly waits on Chromium's rendering.
browser_start() {
	timeout -k 10 900 harness/tools/browser.sh check >"$log/browser" 2>&1 &
	browser_pid=$!
}
browser_report() {
	section "in a real browser (harness/tools/browser.sh check)"
	local decks slides chapters
	if wait "$browser_pid"; then
		decks=$(grep -c '^  ok .*slides, smallest' "$log/browser")
		slides=$(sed -n 's/^  ok .*: \([0-9]*\) slides,.*/\1/p' "$log/browser" | awk '{ n += $1 } END { print n + 0 }')
		chapters=$(grep -c '^  ok .*pages/' "$log/browser")
		ok "$decks decks, $slides slides and $chapters chapters load with no error; diagram text $(min_px slides) px or more on slides, $(min_px pages) px or more in chapters"
	else
		fail "every deck and chapter loads in Chromium, with diagram text large enough" "$log/browser" 40
	fi
}
# min_px slides|pages -> the smallest diagram text the check measured
min_px() {
	grep "^  ok .*$1/" "$log/browser" | sed -n 's/.*smallest diagram text \([0-9.]*\) px.*/\1/p' | sort -n | head -n 1
}

# suite SECONDS SCRIPT...: a test script that prints ok/FAILED lines of its
# own, under a time limit; its lines are counted here, and a non-zero exit
# with no FAILED line is a failure too.
suite() {
	local limit=$1 line code=0 failed_before=$failed
	shift
	while IFS= read -r line; do
		case "$line" in
		"  ok      "*) passed=$((passed + 1)); printf '%s\n' "$line" ;;
		"  FAILED  "*) failed=$((failed + 1)); printf '%s\n' "$line"
			failures+=("${section_name:-}: ${line#  FAILED  }") ;;
		"atonce-exit "*) code=${line#atonce-exit } ;;
		*) printf '%s\n' "$line" ;;
		esac
	done < <(timeout -k 10 "$limit" "$@" 2>&1; echo "atonce-exit $?")
	if [ "$code" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
		fail "$* exited with status $code"
	fi
}

# The grader's tests run in the background from the start of the
# students' repository test (a file scan and a skeleton's make check, which
# fails whatever the load): both are reported in order.
grading_start() {
	if ! harness/tools/deps.sh grade >"$log/grading.deps" 2>&1; then
		grading_pid=
		return
	fi
	timeout -k 10 1800 grading/tests/run.sh >"$log/grading" 2>&1 &   # a guard against a hang: 16 min under heavy load
	grading_pid=$!
}
grading_report() {
	local code
	section "the autograder (grading/tests/run.sh)"
	if [ -z "$grading_pid" ]; then
		fail "the grader's tools (bubblewrap, unzip) install" "$log/grading.deps"
		return
	fi
	wait "$grading_pid"; code=$?
	suite 1 cat "$log/grading"
	if [ "$code" -ne 0 ] && ! grep -q '^  FAILED  ' "$log/grading"; then
		fail "grading/tests/run.sh exited with status $code" "$log/grading"
	fi
}

# Grading on a one-node Slurm (grading/slurm/test.sh) also runs in the
# background, beside the grader's own tests: both measure under the
# grader's machine lock, so neither disturbs the other's verdicts. It exits
# 77 with the reason when Slurm cannot run here (not root, no packages).
slurm_start() {
	timeout -k 90 900 grading/slurm/test.sh >"$log/slurm" 2>&1 &
	slurm_pid=$!
}
slurm_report() {
	section "grading on a one-node Slurm (grading/slurm/test.sh)"
	local code
	wait "$slurm_pid"; code=$?
	suite 1 cat "$log/slurm"
	if [ "$code" -eq 77 ]; then
		skip "$(sed -n 's/^SKIPPED  //p' "$log/slurm" | tail -n 1)"
	elif [ "$code" -ne 0 ] && ! grep -q '^  FAILED  ' "$log/slurm"; then
		fail "grading/slurm/test.sh exited with status $code" "$log/slurm"
	fi
}

student_repo_tests() {
	section "the students' repository (make student-repo)"
	suite 300 harness/tools/student-repo-test.sh
}

selftests
for l in ${ONLY:-$(all_lessons)}; do
	lesson_tests "$l"
done
if [ -z "${ONLY:-}" ]; then
	course_tests
	browser_start
	slurm_start
	grading_start
	student_repo_tests
	grading_report
	slurm_report
	browser_report
fi

section ""
printf '\nmake test took %ss; logs in %s/\n' "$(($(date +%s) - t_start))" "$log"
if [ -s "$log/times.tsv" ]; then
	printf '\nthe slowest runs (build and run, s; all in %s/times.tsv):\n' "$log"
	sort -t$'\t' -k3,3nr "$log/times.tsv" | head -n 8 | awk -F'\t' '{ printf "  %4ds  %s %s\n", $3, $1, $2 }'
	awk -F'\t' '{ s[$1] += $3 } END { for (l in s) printf "%s %d\n", l, s[l] }' "$log/times.tsv" | sort |
		awk 'BEGIN { printf "  by lesson:" } { printf " %s %ds", substr($1, 1, 2), $2 } END { print "" }'
fi
if [ "$failed" -gt 0 ]; then
	printf '\nwhat failed:\n'
	printf '  %s\n' "${failures[@]}"
fi
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
