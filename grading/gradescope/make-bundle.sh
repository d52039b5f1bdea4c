#!/usr/bin/env bash
# Description: build the Gradescope autograder zip for one lesson:
#   grading/gradescope/make-bundle.sh 2      -> build/gradescope/atonce-02-threads.zip
# The zip holds setup.sh and run_autograder (the two files Gradescope runs)
# and the course's lessons/, harness/ and grading/ (never solutions/: the
# grader does not need them). Upload it as a "zip file upload" autograder.
set -eu
cd "$(dirname "$0")/../.."
. harness/tools/lessons.sh
lesson=$(resolve_lesson "${1:?usage: make-bundle.sh LESSON}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/atonce" build/gradescope
cp grading/gradescope/setup.sh grading/gradescope/run_autograder "$stage/"
echo "$lesson" >"$stage/lesson"
cp -r lessons harness grading Makefile "$stage/atonce/"
rm -rf "$stage/atonce/grading/tests" "$stage/atonce/harness/"*/mutants
out=$PWD/build/gradescope/atonce-$lesson.zip
rm -f "$out"
(cd "$stage" && python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1][:-4], "zip", ".")' "$out")
echo "wrote $out"
