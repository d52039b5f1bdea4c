#!/usr/bin/env bash
# Description: the test of `make student-repo` (for make test). It exports
# the course to $BUILD/student-repo-test/repo and checks that:
#   - the export is a git repository with one commit and nothing left out of it;
#   - nothing of the references is in it: no solutions/, grading/, mutants,
#     patches, points.tsv, selftest; and no file holds three
#     consecutive lines of a reference that its skeleton lacks (the scan of
#     harness/tools/student-repo/helper.py, which must also catch a
#     reference and a mutant planted in a folder of their own);
#   - the students' working files are the skeletons, the chapters' links and
#     excerpts resolve inside the export, the workflow has one job per lesson;
#   - its Makefile refuses IMPL=solution and says `make test` is the
#     instructors';
#   - `make check LESSON=1` inside it builds the skeleton and fails on its
#     tests (not on the build), as a skeleton must.
# Prints "  ok      ..." and "  FAILED  ..." lines; exit 1 when one failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh

build=${BUILD:-build}
helper=harness/tools/student-repo/helper.py
t_start=$(date +%s)
failed=0

ok()   { printf '  ok      %s\n' "$1"; }
fail() {
	failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"
	[ -n "${2:-}" ] && [ -f "$2" ] && sed -e 's/^/          | /' "$2" | tail -n "${3:-25}"
	return 0
}
finish() {
	printf '  (student-repo test: %ss)\n' "$(($(date +%s) - t_start))"
	[ "$failed" -eq 0 ]
	exit $?
}

root=$(realpath -m "$build/student-repo-test")
dest=$root/repo log=$root/log
rm -rf "$root" && mkdir -p "$log" || { fail "cannot create $root"; finish; }

# --- the export ------------------------------------------------------------------
if harness/tools/student-repo.sh "$dest" >"$log/export.out" 2>&1; then
	ok "make student-repo exports the course ($(git -C "$dest" ls-files | wc -l) files)"
else
	fail "make student-repo exports the course" "$log/export.out" 40
	finish
fi
commits=$(git -C "$dest" rev-list --count HEAD 2>/dev/null)
dirty=$(git -C "$dest" status --porcelain 2>/dev/null; git -C "$dest" ls-files --others 2>/dev/null)   # ignored ones too
if [ "$commits" = 1 ] && [ -z "$dirty" ] && [ "$(git -C "$dest" branch --show-current)" = main ]; then
	ok "the export is a git repository: one commit on main, every file in it"
else
	fail "the export is a git repository with one commit on main holding every file (commits: ${commits:-none}; not committed: ${dirty:-nothing})"
fi

# --- nothing of the references ------------------------------------------------------
(cd "$dest" && find . -path ./.git -prune -o \( -name solutions -o -name grading -o -name mutants \
	-o -name mutants.tsv -o -name points.tsv -o -name '*.patch' -o -name selftest \
	-o -name selftest.mk -o -name project-tests.sh -o -name audit.sh -o -name mutant.sh \) -printf '%P\n') \
	>"$log/paths.out"
if [ -s "$log/paths.out" ]; then
	fail "no references, mutants or grading internals in the export; found:" "$log/paths.out" 40
else
	ok "no solutions/, grading/, mutants, patches, points.tsv nor instructors' tools in the export"
fi

if python3 "$helper" scan . "$dest" --allow harness/tools/student-repo/shared-lines.txt >"$log/scan.out" 2>&1; then
	ok "no file of the export holds lines of a reference solution ($(ls solutions/*/*.c | wc -l) reference files compared, line by line, with every file)"
else
	fail "no file of the export holds lines of a reference solution; these do (file:lines, then the lines):" "$log/scan.out" 60
fi

# The scan must see a reference where there is one: a copy of a reference
# file and a mutant's patch (a diff of the reference), under other names.
planted=$root/planted
mkdir -p "$planted"
ref=$(ls solutions/*/*.c | head -n 1)
patch=$(ls -S harness/*/mutants/*.patch 2>/dev/null | head -n 1)   # the largest
cp "$ref" "$planted/notes.txt"
[ -n "$patch" ] && cp "$patch" "$planted/idea.diff"
python3 "$helper" scan . "$planted" >"$log/planted.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^notes.txt:' "$log/planted.out" &&
	{ [ -z "$patch" ] || grep -q '^idea.diff:' "$log/planted.out"; }; then
	ok "the scan finds a reference planted in a file of another name ($ref${patch:+, and $patch})"
else
	fail "the scan finds a reference planted in a file of another name ($ref${patch:+, and $patch}); it said (exit $rc):" "$log/planted.out"
fi

# --- what the students get ------------------------------------------------------------
differ=""
for l in $(all_lessons); do
	for f in $(manifest "$l" STUDENT_FILES); do
		cmp -s "lessons/$l/$f" "$dest/lessons/$l/$f" || differ+=" lessons/$l/$f"
	done
done
if [ -z "$differ" ]; then ok "the students' working files are the skeletons, where make check builds them (lessons/NN-name/)"
else fail "the students' working files are the skeletons; missing or different:$differ"; fi

mds=("$dest"/README.md "$dest"/lessons/*/README.md "$dest"/slides/[0-9][0-9]-*.md)
if python3 harness/tools/links.py "${mds[@]}" >"$log/links.out" 2>&1; then
	ok "every link and picture of the export's README, chapters and decks is in the export"
else
	fail "every link and picture of the export's README, chapters and decks is in the export" "$log/links.out"
fi
if python3 harness/tools/anchors.py check "$dest"/lessons/*/README.md >"$log/anchors.out" 2>&1; then
	ok "every chapter excerpt quotes a file of the export, word for word"
else
	fail "every chapter excerpt quotes a file of the export, word for word" "$log/anchors.out"
fi

# Every lesson builds from what is there: each #include "..." of the
# harness, the lessons and the demos resolves inside the export (beside the
# file, harness/lib/, or the lesson's lessons/ and harness/ folders).
python3 - "$dest" >"$log/includes.out" 2>&1 <<'EOF'
import os, re, sys
top, bad, n = sys.argv[1], [], 0
for base in ('harness', 'lessons'):
    for dp, _, names in os.walk(os.path.join(top, base)):
        for name in names:
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(dp, name)
            rel = os.path.relpath(path, top)
            part = rel.split('/')[1]
            dirs = [dp, os.path.join(top, 'harness', 'lib')]
            if re.match(r'[0-9][0-9]-', part):
                dirs += [os.path.join(top, 'lessons', part), os.path.join(top, 'harness', part)]
            for i, line in enumerate(open(path, errors='replace'), 1):
                m = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
                if m:
                    n += 1
                    if not any(os.path.isfile(os.path.join(d, m.group(1))) for d in dirs):
                        bad.append(f'{rel}:{i}: #include "{m.group(1)}" is not in the export')
print('\n'.join(bad) if bad else f'{n} includes')
sys.exit(1 if bad else 0)
EOF
if [ $? -eq 0 ]; then
	ok "every #include \"...\" of the export's harness, lessons and demos is in the export ($(cat "$log/includes.out"))"
else
	fail "every #include \"...\" of the export's harness, lessons and demos is in the export" "$log/includes.out"
fi

wf=$dest/.github/workflows/check.yml
missing=""
for l in $(all_lessons); do grep -qx "          - $l" "$wf" 2>/dev/null || missing+=" $l"; done
if [ -z "$missing" ] && grep -q 'fail-fast: false' "$wf" && grep -q 'make check LESSON="\$LESSON"' "$wf"; then
	ok "the workflow runs make check, one job per lesson, none cancelling another"
else
	fail "the workflow runs make check, one job per lesson (missing:${missing:- none}), with fail-fast: false"
fi

# The inner make sees nothing of this run's make (make test sets BUILD, MAKEFLAGS).
inner() { env -u BUILD -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u IMPL -u LESSON -u V -u CRITERION_ARGS \
	make --no-print-directory -C "$dest" "$@"; }
inner test >"$log/test.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'instructors' "$log/test.out"; then
	ok "make test in the export says it is the instructors' and exits $rc"
else
	fail "make test in the export says it is the instructors' (exit $rc):" "$log/test.out"
fi
inner check LESSON=1 IMPL=solution >"$log/impl.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'not available here' "$log/impl.out"; then
	ok "make check IMPL=solution in the export says there is no reference here"
else
	fail "make check IMPL=solution in the export says there is no reference here (exit $rc):" "$log/impl.out"
fi

# --- make check LESSON=1 on the skeleton --------------------------------------------
l1=$(resolve_lesson 1)
inner check LESSON=1 >"$log/check.out" 2>&1
rc=$?
res=$dest/build/$l1/student/results.tsv
total=$(wc -l <"$res" 2>/dev/null || echo 0)
notpass=$(awk -F'\t' '$2 != "PASS" && $2 != "SKIP"' "$res" 2>/dev/null | wc -l)
if grep -q '^  FAIL    build' "$log/check.out" || [ "$total" -eq 0 ]; then
	fail "make check LESSON=1 in the export builds the skeleton (exit $rc):" "$log/check.out" 40
elif [ "$rc" -ne 0 ] && [ "$notpass" -gt 0 ]; then
	ok "make check LESSON=1 in the export builds the skeleton and fails its tests, as a skeleton must (exit $rc; $notpass of $total tests fail)"
else
	fail "make check LESSON=1 in the export fails on the skeleton (exit $rc; $notpass of $total tests fail):" "$log/check.out" 40
fi
finish
