#!/usr/bin/env bash
# Description: `make bench LESSON=n [IMPL=solution]`: build the lesson's
# benchmark (harness/NN-name/bench.c) against the implementation and run it:
# the code beside real peers, medians and ratios, a chart per table.
# Benchmarks report; they never pass or fail.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
build=${BUILD:-build}
impl=${2:-student}

harness/tools/deps.sh build bench || exit 2
if [ -z "${1:-}" ]; then
	echo "make bench needs a lesson: make bench LESSON=7 [IMPL=solution]" >&2
	echo "lessons with benchmarks: $(for l in $(all_lessons); do [ -f "harness/$l/bench.c" ] && printf '%s ' "$l"; done)" >&2
	exit 2
fi
lesson=$(resolve_lesson "$1") || exit 2
if [ ! -f "harness/$lesson/bench.c" ]; then
	echo "lesson $lesson has no benchmark (lessons with one: $(for l in $(all_lessons); do [ -f "harness/$l/bench.c" ] && printf '%s ' "$l"; done))" >&2
	exit 2
fi
case "$impl" in mutant:*) tag="mutant-${impl#mutant:}" ;; *) tag=$impl ;; esac
make --no-print-directory -s -f harness/mk/lesson.mk LESSON_NAME="$lesson" IMPL="$impl" \
	BUILD="$build" "$build/$lesson/$tag/bench" || exit 1
mkdir -p "$build/bench/$lesson"
echo "benchmark of lesson $lesson ($impl), $(date -u '+%Y-%m-%d %H:%M UTC')"
ATONCE_BENCH_DIR="$build/bench/$lesson" timeout -k 5 600 "$build/$lesson/$tag/bench"
