#!/usr/bin/env bash
# Description: `make slides`: build one offline reveal.js deck per lesson.
#
#   slides.sh                 build every slides/NN-*.md into $BUILD/slides/NN-*.html
#                             (only the decks whose inputs changed) and the
#                             index $BUILD/slides/index.html
#   slides.sh DECK.md...      build just these decks (any folder; their
#                             pictures are found relative to each deck)
#   slides.sh --check [DECK.md...]
#                             build every deck into a temporary folder and fail
#                             when pandoc fails, a deck has no title, a
#                             picture it refers to does not exist, the result
#                             would need the network, or (all decks) a deck
#                             is not named after a lessons/ folder; nothing
#                             is written under $BUILD (what `make test` runs)
#
# Each deck is self-contained HTML (reveal.js 5, its theme, our atonce.css and
# every picture embedded): open the file directly, no server, no network.
# reveal.js comes from npm, pinned by slides/package-lock.json; it is
# installed into slides/node_modules the first time (`npm ci`).
#
# Exit status: 0 all good, 1 a deck failed, 2 usage or a missing tool
# (pandoc, npm, or reveal.js could not be installed).
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
build=${BUILD:-build}

die() { echo "slides.sh: $*" >&2; exit 2; }

# Temporary files and folders, removed however the script ends.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
case "${1:-}" in
-h | --help) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
-*) die "unknown option '$1' (see slides.sh --help)" ;;
esac

command -v pandoc >/dev/null 2>&1 ||
	die "pandoc is missing: run 'make slides' (installs it as root) or: sudo apt-get install pandoc npm"

# --- the decks ---------------------------------------------------------------
all_decks=0
if [ $# -gt 0 ]; then
	decks=("$@")
else
	all_decks=1
	decks=()
	for d in slides/[0-9][0-9]-*.md; do
		[ -f "$d" ] && decks+=("$d")
	done
fi
for d in "${decks[@]}"; do
	[ -f "$d" ] || die "no such deck: $d"
done

# --- reveal.js, from the lock file ---------------------------------------------
reveal=$root/slides/node_modules/reveal.js

reveal_ok() {
	[ -f "$reveal/dist/reveal.js" ] && [ -f "$reveal/plugin/notes/notes.js" ] &&
		[ -f slides/node_modules/.package-lock.json ] &&
		! [ slides/package-lock.json -nt slides/node_modules/.package-lock.json ]
}

install_reveal() {
	command -v npm >/dev/null 2>&1 ||
		die "npm is missing (needed once, to fetch reveal.js): run 'make slides' (installs it as root) or: sudo apt-get install npm"
	local log
	log=$(mktemp) || die "mktemp failed"
	scratch+=("$log")
	# Two builds at once (make slides while make test checks the decks)
	# must not both rewrite node_modules.
	exec 9>"${TMPDIR:-/tmp}/atonce-slides-npm.$(id -u).lock"
	command -v flock >/dev/null 2>&1 && flock 9
	if ! reveal_ok; then
		echo "  NPM     slides/node_modules (reveal.js, from slides/package-lock.json)"
		if ! npm ci --prefix slides --no-audit --no-fund --loglevel=error \
			>"$log" 2>&1 || ! [ -f "$reveal/dist/reveal.js" ]; then
			# The gist, without npm's stack trace.
			grep -v -e 'Unknown user config' -e '^npm error  *at ' -e '^npm error *$' \
				"$log" | head -n 6 | sed 's/^/    /' >&2
			rm -f "$log"
			die "could not install reveal.js with 'npm ci --prefix slides' (it needs the npm registry once; the decks themselves never need the network)"
		fi
		touch slides/node_modules/.package-lock.json
	fi
	exec 9>&-
	rm -f "$log"
}

reveal_ok || install_reveal

# --- where the decks go --------------------------------------------------------
if [ "$check" -eq 1 ]; then
	work=$(mktemp -d) || die "mktemp failed"
	scratch+=("$work")
	out=$work/slides
	assets=$work/assets
else
	out=$build/slides
	assets=$build/slides-assets
fi
mkdir -p "$out" "$assets" || die "cannot create $out"
assets=$(cd "$assets" && pwd)

# pandoc 2.x embeds with --self-contained; pandoc 3 renamed it.
if pandoc --help 2>/dev/null | grep -q -- '--embed-resources'; then
	embed=(--embed-resources --standalone)
else
	embed=(--self-contained)
fi

# put FILE: write stdin to FILE in one step (another build may be reading it).
put() { cat >"$1.$$" && mv -f "$1.$$" "$1"; }

# What pandoc embeds, gathered in $assets (rebuilt on every run: it is cheap).
# The reveal.js files are those of the npm package, except the theme:
# reveal.js's "white" theme @imports its font in four formats (3 MB once
# embedded); ours, atonce-white, is the same theme with the WOFF files only
# (0.6 MB), which every current browser reads.
stage_reveal() {
	local s=$assets/reveal f
	mkdir -p "$s/dist/theme" "$s/plugin/notes" "$s/plugin/search" "$s/plugin/zoom"
	for f in dist/reset.css dist/reveal.css dist/reveal.js \
		plugin/notes/notes.js plugin/search/search.js plugin/zoom/zoom.js; do
		[ "$(readlink "$s/$f")" = "$reveal/$f" ] || ln -sfn "$reveal/$f" "$s/$f"
	done
	local fonts=$reveal/dist/theme/fonts/source-sans-pro theme=$s/dist/theme/atonce-white.css
	{
		echo "/* generated by harness/tools/slides.sh: reveal.js white theme, WOFF fonts only */"
		for f in regular:normal:normal italic:normal:italic \
			semibold:600:normal semibolditalic:600:italic; do
			IFS=: read -r name weight style <<<"$f"
			printf "@font-face { font-family: 'Source Sans Pro'; src: url('%s') format('woff'); font-weight: %s; font-style: %s; }\n" \
				"$fonts/source-sans-pro-$name.woff" "$weight" "$style"
		done
		grep -v '^@import' "$reveal/dist/theme/white.css"
	} | put "$theme"
	# Our script (fits listings and pictures to their slide), as pandoc
	# includes it: an HTML fragment.
	{ echo '<script>'; cat slides/atonce.js; echo '</script>'; } | put "$assets/after.html"
	# The Lua filter that lists what a deck refers to (see deck_info).
	put "$assets/info.lua" <<'EOF'
-- Prints a deck's title, subtitle and every picture it refers to, one per line.
local lines = {}
local function add(kind, value)
	table.insert(lines, kind .. '\t' .. value)
end
function Image(img)
	add('image', img.src)
end
function Header(h)
	local bg = h.attributes['data-background-image']
	if bg then
		add('image', bg)
	end
end
function Pandoc(doc)
	local m = doc.meta
	if m.title then
		add('title', pandoc.utils.stringify(m.title))
	end
	if m.subtitle then
		add('subtitle', pandoc.utils.stringify(m.subtitle))
	end
	local blocks = {}
	for _, l in ipairs(lines) do
		table.insert(blocks, pandoc.Plain({pandoc.RawInline('plain', l)}))
	end
	return pandoc.Pandoc(blocks)
end
EOF
}
stage_reveal

# deck_info DECK: "title<TAB>...", "subtitle<TAB>...", "image<TAB>path" lines.
deck_info() {
	pandoc --lua-filter "$assets/info.lua" -f markdown -t plain --wrap=none "$1"
}

# The images of a deck that are missing, one message each; a remote picture
# is an error too (the decks must open offline).
missing_images() {      # missing_images DECK INFO
	local deck=$1 dir src
	dir=$(dirname "$deck")
	while IFS=$'\t' read -r kind src; do
		[ "$kind" = image ] || continue
		case "$src" in
		data:*) continue ;;
		http://* | https://* | //*)
			echo "$deck: picture $src is on the network; copy it into the repository (the decks must work offline)"
			continue ;;
		esac
		local path=${src%%[?#]*}
		case "$path" in /*) ;; *) path=$dir/$path ;; esac
		[ -f "$path" ] ||
			echo "$deck: picture $src does not exist (no file $(realpath -m --relative-base=. "$path"))"
	done <<<"$2" | awk '!seen[$0]++'
}

# Anything in the built HTML that a browser would fetch from outside the file.
external_refs() {       # external_refs HTML
	grep -oE '<(script|link|img|iframe|source|video|audio)[^>]*[[:space:]](data-)?(src|href)="[^"]*"' "$1" |
		grep -oE '(data-)?(src|href)="[^"]*"$' |
		grep -vE '="(data:|#|\$\{)' | sort -u
}

pandoc_args=(
	-f markdown -t revealjs "${embed[@]}"
	--slide-level=2
	--lua-filter "$root/slides/atonce.lua"
	--css "$root/slides/atonce.css"
	--include-after-body "$assets/after.html"
	-V revealjs-url="$assets/reveal"
	-V theme=atonce-white
	-V width=1280 -V height=720 -V margin=0.06
	-V center=false
	-V transition=fade -V transitionSpeed=fast
	-V slideNumber="'c/t'"
	-V navigationMode=linear
	-V hash=true
	-V controlsTutorial=false
)

# The inputs every deck depends on, besides itself and its pictures.
common_inputs=(slides/atonce.css slides/atonce.js slides/atonce.lua slides/package-lock.json
	harness/tools/slides.sh)

up_to_date() {          # up_to_date HTML DECK INFO
	local html=$1 deck=$2 dir src f
	[ -f "$html" ] || return 1
	for f in "$deck" "${common_inputs[@]}"; do
		[ "$f" -nt "$html" ] && return 1
	done
	dir=$(dirname "$deck")
	while IFS=$'\t' read -r kind src; do
		[ "$kind" = image ] || continue
		case "$src" in /*) f=$src ;; *) f=$dir/${src%%[?#]*} ;; esac
		[ "$f" -nt "$html" ] && return 1
	done <<<"$3"
	return 0
}

html_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }

bad=0 built=0 n=0
index_rows=""
err=$(mktemp) || die "mktemp failed"
scratch+=("$err")
for deck in "${decks[@]}"; do
	n=$((n + 1))
	name=$(basename "$deck" .md)
	html=$out/$name.html
	if ! info=$(deck_info "$deck" 2>"$err"); then
		echo "$deck: pandoc cannot read it:" >&2
		sed 's/^/    /' "$err" >&2
		bad=1
		continue
	fi
	title=$(printf '%s\n' "$info" | sed -n 's/^title\t//p' | head -n 1)
	subtitle=$(printf '%s\n' "$info" | sed -n 's/^subtitle\t//p' | head -n 1)
	if [ -z "$title" ]; then
		title=$name
		if [ "$check" -eq 1 ]; then
			echo "$deck: no title: start the deck with a YAML block (---, title: \"Lesson NN · Name\", ---)" >&2
			bad=1
		fi
	fi
	if [ "$check" -eq 1 ] && [ "$all_decks" -eq 1 ] && [ ! -d "lessons/$name" ]; then
		echo "$deck: there is no lesson lessons/$name/ (a deck is named after its lesson)" >&2
		bad=1
	fi
	index_rows+="<li><a href=\"$name.html\">$(printf '%s' "$title" | html_escape)</a>"
	[ -n "$subtitle" ] && index_rows+=" <span>$(printf '%s' "$subtitle" | html_escape)</span>"
	index_rows+=$'</li>\n'

	missing=$(missing_images "$deck" "$info")
	if [ -n "$missing" ]; then
		echo "$missing" >&2
		bad=1
		continue
	fi
	if [ "$check" -eq 0 ] && up_to_date "$html" "$deck" "$info"; then
		continue
	fi

	[ "$check" -eq 0 ] && echo "  SLIDES  $html"
	tmp=$(mktemp "$out/.$name.XXXXXX") || die "mktemp in $out failed"
	scratch+=("$tmp")
	cmd=(pandoc "${pandoc_args[@]}" --resource-path="$(dirname "$deck")"
		--metadata pagetitle="$title" -o "$tmp" "$deck")
	[ "${V:-0}" = 1 ] && printf '%q ' "${cmd[@]}" && echo
	if ! "${cmd[@]}" 2>"$err"; then
		echo "$deck: pandoc failed:" >&2
		sed 's/^/    /' "$err" >&2
		rm -f "$tmp"
		bad=1
		continue
	fi
	# pandoc only warns when it cannot embed something; for us that is an
	# error (the deck would show a hole, or need the network).
	if grep -qiE 'could not fetch|fetch resource' "$err"; then
		echo "$deck: pandoc could not embed everything:" >&2
		sed 's/^/    /' "$err" >&2
		rm -f "$tmp"
		bad=1
		continue
	fi
	[ -s "$err" ] && sed "s|^|    $deck: |" "$err" >&2
	ext=$(external_refs "$tmp")
	if [ -n "$ext" ]; then
		echo "$deck: the built deck still refers to files outside itself:" >&2
		printf "    %s\n" "$ext" >&2
		rm -f "$tmp"
		bad=1
		continue
	fi
	chmod 0644 "$tmp" && mv -f "$tmp" "$html"
	built=$((built + 1))
done
rm -f "$err"

if [ "$check" -eq 1 ]; then
	if [ "$n" -eq 0 ]; then
		echo "slides.sh: no decks yet (slides/NN-name.md)"
	elif [ "$bad" -eq 0 ]; then
		echo "$n deck(s) build offline with every picture they show"
	else
		echo "slides.sh --check: some decks are broken (see above)" >&2
	fi
	exit "$bad"
fi

# The index, and no deck left behind whose Markdown is gone.
if [ "$all_decks" -eq 1 ]; then
	for h in "$out"/[0-9][0-9]-*.html; do
		[ -f "$h" ] || continue
		[ -f "slides/$(basename "$h" .html).md" ] || { echo "  RM      $h"; rm -f "$h"; }
	done
	index=$out/index.html
	{
		cat <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atonce · slides</title>
<style>
body { font-family: "Source Sans Pro", Helvetica, Arial, sans-serif; color: #1b1f24;
       max-width: 46em; margin: 3em auto; padding: 0 1.5em; line-height: 1.5; font-size: 20px; }
h1 { color: #1d3557; border-bottom: 3px solid #e07a1f; display: inline-block; padding-bottom: 4px; }
ol { padding-left: 0; list-style: none; }
li { margin: 0.7em 0; }
a { color: #1a5fb4; font-weight: 600; text-decoration: none; }
a:hover { text-decoration: underline; }
li span { display: block; color: #5c6670; font-size: 0.9em; }
p.help { color: #5c6670; font-size: 0.85em; }
kbd { border: 1px solid #c8ced4; border-radius: 3px; padding: 0 0.3em; font-size: 0.9em; }
</style>
</head>
<body>
<h1>atonce · slides</h1>
<ol>
EOF
		printf '%s' "$index_rows"
		cat <<'EOF'
</ol>
<p class="help">In a deck: <kbd>→</kbd>/<kbd>Space</kbd> next, <kbd>S</kbd> speaker notes,
<kbd>F</kbd> full screen, <kbd>Esc</kbd> overview. To print, add <code>?print-pdf</code>
to the deck's address and print to PDF from Chromium.</p>
</body>
</html>
EOF
	} >"$index.$$"
	if cmp -s "$index.$$" "$index"; then
		rm -f "$index.$$"
	else
		mv -f "$index.$$" "$index"
		echo "  SLIDES  $index"
	fi
fi
if [ "$n" -eq 0 ]; then
	echo "slides.sh: no decks yet (slides/NN-name.md)"
elif [ "$built" -eq 0 ] && [ "$bad" -eq 0 ]; then
	echo "  SLIDES  $out: $n deck(s) up to date"
fi
exit "$bad"
