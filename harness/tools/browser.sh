#!/usr/bin/env bash
# Description: look at what readers see, in a real browser (Debian's
# headless Chromium, driven by playwright-core from npm, pinned by
# harness/tools/browser/package-lock.json):
#
#   browser.sh check     every deck (1280x720) and every chapter rendered as
#                        GitHub-flavoured Markdown (an 880 px column): no
#                        console error, no failed request, no blank slide,
#                        every picture loads, and no diagram text drawn
#                        smaller than 18 px on a slide or 11 px in a chapter
#   browser.sh pdf       one PDF per deck in $BUILD/slides-pdf/, a page a
#                        slide (checked: page count = slide count)
#
# What `make test` (check) and `make slides-pdf` (pdf) run. Needs the
# packages chromium, nodejs/npm and pandoc (harness/tools/deps.sh browser).
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
build=${BUILD:-build}
mode=${1:-check}
SLIDE_MIN_PX=${SLIDE_MIN_PX:-18}
PAGE_MIN_PX=${PAGE_MIN_PX:-11}

harness/tools/deps.sh docs slides browser || exit 2
tools=harness/tools/browser
# playwright-core, once, from the lock file (two runs at once: one installs).
if ! [ -f "$tools/node_modules/playwright-core/package.json" ] ||
	[ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
	(
		flock 9
		cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$root/$build/npm-browser.log"
	) 9>"${TMPDIR:-/tmp}/atonce-browser-npm.$(id -u).lock" ||
		{ echo "browser.sh: npm ci in $tools failed (see $build/npm-browser.log)" >&2; exit 2; }
fi

# Decks into a folder of our own: make slides' own output is left alone.
decks=$build/browser/slides
mkdir -p "$decks" "$build/browser/pages"
BUILD=$build/browser harness/tools/slides.sh >"$build/browser/slides.log" 2>&1 ||
	{ echo "browser.sh: the decks do not build:"; tail -n 20 "$build/browser/slides.log"; exit 1; }

if [ "$mode" = pdf ]; then
	out=$build/slides-pdf
	mkdir -p "$out"
	node "$tools/check.js" pdf "$out" "$decks"/[0-9][0-9]-*.html
	exit $?
fi

# Chapters as a forge shows them: GitHub-flavoured Markdown in a column
# of about 880 px, pictures found relative to the Markdown file.
pages=()
for md in README.md lessons/*/README.md solutions/*/README.md; do
	[ -f "$md" ] || continue
	html=$build/browser/pages/${md//\//__}.html
	head=$(mktemp)
	printf '<base href="/%s/">\n<style>body{max-width:880px;margin:0 auto;padding:16px;font:16px/1.5 sans-serif}img{max-width:100%%}pre{overflow:auto}</style>\n' \
		"$(dirname "$md")" >"$head"
	pandoc -f gfm -t html5 --standalone --metadata title="$md" --include-in-header="$head" "$md" -o "$html" 2>/dev/null
	rm -f "$head"
	pages+=("$html")
done
status=0
echo "slides (1280x720, diagram text at least $SLIDE_MIN_PX px):"
node "$tools/check.js" decks "$SLIDE_MIN_PX" "$decks"/[0-9][0-9]-*.html || status=1
echo "chapters (an 880 px column, diagram text at least $PAGE_MIN_PX px):"
node "$tools/check.js" pages "$PAGE_MIN_PX" "${pages[@]}" || status=1
exit $status
