#!/usr/bin/env bash
# Description: `make reset LESSON=n`: put the lesson's skeleton files back,
# as the course gave them, after saving your versions in
# lessons/NN-name/saved/<date-time>/ (nothing is ever deleted).
#
# The skeleton comes from git: the version of each file in the course's
# commit your work started from. In the course's own repository, the
# merge-base with origin, when this checkout has one, else the last commit;
# in a students' repository (`make student-repo`, no solutions/ in it), its
# first commit: the template as GitHub Classroom copied it, whatever you
# pushed since. A file that is not in git (a downloaded zip) cannot be reset
# this way: download it again.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
[ -n "${1:-}" ] || { echo "make reset needs a lesson: make reset LESSON=1" >&2; exit 2; }
lesson=$(resolve_lesson "$1") || exit 2
git rev-parse --git-dir >/dev/null 2>&1 || {
	echo "make reset: this folder is not a git checkout, so the skeleton cannot be recovered from it: download the course again" >&2
	exit 1
}
base=HEAD
if [ ! -d solutions ]; then
	base=$(git rev-list --max-parents=0 HEAD | tail -n 1)
elif up=$(git rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null); then
	base=$(git merge-base HEAD "$up" 2>/dev/null || echo HEAD)
fi

saved=lessons/$lesson/saved/$(date '+%Y-%m-%d-%H%M%S')
n=0
for f in $(manifest "$lesson" STUDENT_FILES); do
	path=lessons/$lesson/$f
	if ! git cat-file -e "$base:$path" 2>/dev/null; then
		echo "make reset: $path is not in git at $base: left as it is" >&2
		continue
	fi
	if [ -f "$path" ] && git show "$base:$path" | cmp -s - "$path"; then
		continue   # already the skeleton
	fi
	mkdir -p "$saved"
	[ -f "$path" ] && cp -p "$path" "$saved/$f"
	git show "$base:$path" >"$path"
	n=$((n + 1))
	echo "reset $path (your version: $saved/$f)"
done
[ "$n" -eq 0 ] && echo "lesson $lesson: every file is already the skeleton; nothing to do"
exit 0
