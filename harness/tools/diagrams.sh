#!/usr/bin/env bash
# Description: `make diagrams`: draw the chapters' pictures.
#
#   diagrams.sh            run each lesson's pictures program (harness/NN-*/
#                          pictures.c, on the reference solution) to write
#                          timelines of real runs, then render every
#                          lessons/*/diagrams/*.dot to the SVG beside it
#   diagrams.sh LESSON     the same for one lesson (1, 01 or 01-interleaving)
#   diagrams.sh --check    render each .dot to a temporary file and compare
#                          with the committed SVG; exit 1 if one fails to
#                          render or is stale
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
build=${BUILD:-build}

# Graphviz writes its version in a comment; compare the drawing only.
strip_comments() { sed -e 's/<!--.*-->//' -e '/^\s*$/d' "$1"; }

if [ "${1:-}" = --check ]; then
	bad=0 n=0
	for dot in lessons/*/diagrams/*.dot; do
		[ -f "$dot" ] || continue
		n=$((n + 1))
		svg=${dot%.dot}.svg tmp=$(mktemp)
		if ! dot -Tsvg "$dot" -o "$tmp" 2>"$tmp.err"; then
			echo "$dot does not render: $(head -n 3 "$tmp.err")"
			bad=1
		elif [ ! -f "$svg" ] || ! cmp -s <(strip_comments "$svg") <(strip_comments "$tmp"); then
			echo "$svg is missing or stale: run make diagrams"
			bad=1
		fi
		rm -f "$tmp" "$tmp.err"
	done
	[ "$bad" -eq 0 ] && echo "$n diagram(s) render and match their SVG"
	exit "$bad"
fi

if [ -n "${1:-}" ]; then
	lessons=$(resolve_lesson "$1") || exit 2
else
	lessons=$(all_lessons)
fi
for l in $lessons; do
	[ -f "harness/$l/pictures.c" ] || continue
	make --no-print-directory -s -f harness/mk/lesson.mk LESSON_NAME="$l" \
		IMPL=solution BUILD="$build" WERROR=1 "$build/$l/solution/pictures" || exit 1
	echo "  RUN     $build/$l/solution/pictures lessons/$l/diagrams"
	timeout 60 "$build/$l/solution/pictures" "lessons/$l/diagrams" || exit 1
done
for l in $lessons; do
	for dot in lessons/"$l"/diagrams/*.dot; do
		[ -f "$dot" ] || continue
		echo "  DOT     $dot"
		dot -Tsvg "$dot" -o "${dot%.dot}.svg" || exit 1
	done
done
