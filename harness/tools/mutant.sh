#!/usr/bin/env bash
# Description: write and read mutants, the deliberately wrong solutions the
# tests must reject. A mutant is harness/NN-name/mutants/NAME.patch, a
# unified diff (two lines of context) against the reference in solutions/NN-name/, as small as the
# mistake, with a comment at the mistake saying what is wrong.
#
# Usage: mutant.sh new  LESSON NAME   copy the reference (with NAME's patch, if
#                                     it exists) to build/mutant-edit/NN-name/NAME/
#                                     for you to edit
#        mutant.sh save LESSON NAME   turn that edited copy back into the patch
#        mutant.sh show LESSON NAME   print the patch
#        mutant.sh list LESSON        the lesson's mutants and their tests
#
# Then list it in harness/NN-name/mutants.tsv (name, the tests that must
# catch it, the mistake in one line) and run
#   make check LESSON=n IMPL=mutant:NAME
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh

usage() { sed -n '8,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
l=$(resolve_lesson "$2") || exit 2
name=${3:-}
patch=harness/$l/mutants/$name.patch
scratch=${BUILD:-build}/mutant-edit/$l/$name
files=$(manifest "$l" STUDENT_FILES)

case "$cmd" in
new)
	[ -n "$name" ] || usage
	rm -rf "$scratch" && mkdir -p "$scratch"
	for f in $files; do cp "solutions/$l/$f" "$scratch/$f"; done
	if [ -f "$patch" ]; then
		patch --batch --forward --fuzz=0 --no-backup-if-mismatch --reject-file=- --quiet \
			-p3 -d "$scratch" -i "$PWD/$patch" ||
			echo "mutant.sh: $patch does not apply cleanly any more; edit what is left and save" >&2
	fi
	echo "edit the files in $scratch/ (${files// /, }), then: harness/tools/mutant.sh save $l $name"
	;;
save)
	[ -n "$name" ] && [ -d "$scratch" ] || { echo "mutant.sh: no $scratch: run 'mutant.sh new $l $name' first" >&2; exit 1; }
	tmp=$(mktemp)
	for f in $files; do
		diff -U2 --label "a/solutions/$l/$f" --label "b/solutions/$l/$f" \
			"solutions/$l/$f" "$scratch/$f" >>"$tmp"
		[ $? -le 1 ] || { rm -f "$tmp"; exit 1; }
	done
	if [ ! -s "$tmp" ]; then
		rm -f "$tmp"; echo "mutant.sh: $scratch is the same as the reference: nothing to save" >&2; exit 1
	fi
	grep -q '^+.*\(/\*\|//\)' "$tmp" ||
		echo "mutant.sh: note: no added line carries a comment; say at the mistake what is wrong" >&2
	mv "$tmp" "$patch"
	echo "wrote $patch ($(grep -c '^[-+][^-+]' "$patch") changed lines)"
	mutants_of "$l" | cut -f1 | grep -qx "$name" ||
		echo "now list it in harness/$l/mutants.tsv: $name<TAB>tests that must catch it<TAB>the mistake in one line"
	;;
show)
	[ -f "$patch" ] || { echo "mutant.sh: no $patch" >&2; exit 1; }
	cat "$patch"
	;;
list)
	mutants_of "$l" | awk -F'\t' '{ printf "%-24s %-28s %s\n", $1, $2, $3 }'
	;;
*) usage ;;
esac
