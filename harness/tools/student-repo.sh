#!/usr/bin/env bash
# Description: `make student-repo DEST=dir [FROM=commit]`: the course as the
# students get it (a GitHub Classroom template repository).
#
# Usage: student-repo.sh DEST [--from COMMIT] [--no-git]
#   DEST      a folder that does not exist yet, or is empty (relative to the
#             course; inside the course, only where git ignores it: build/)
#   --from    export the course as it is in COMMIT (a tag, for a term);
#             default: the work tree as it is, its files that git tracks or
#             would track (untracked ones too, ignored ones never)
#   --no-git  a plain folder; default: a fresh git repository, one commit
#             on branch main, ready to push as the template
#
# What goes in (an allow-list: a new file elsewhere stays out until it is
# named here):
#   lessons/     chapters, headers, demos, diagrams, and the skeletons, which
#                are the student's working files: `make check` (IMPL=student)
#                builds lessons/NN-name/*.c. Not lessons/*/saved/.
#   harness/     lib/, mk/ (not selftest.mk), each lesson's tests, drivers,
#                bench.c and lesson.mk; of tools/, what the student targets run
#   slides/      the decks (`make slides`)
#   .gitignore
# and, written here from harness/tools/student-repo/: a Makefile with the
# student targets (the course's own recipes; `make test` says it is the
# instructors'; IMPL other than student is refused), a README for students,
# and .github/workflows/check.yml (one job per lesson).
#
# What stays out: solutions/ (references and walkthroughs), grading/ (the
# grader, its corpus, the Gradescope/Classroom/Autolab glue), the mutants
# (harness/NN-name/mutants/, mutants.tsv: patches of the references),
# points.tsv (the grader's weights), harness/selftest/ and the instructors'
# tools (make test, audit, mutant, diagrams, browser, anchors, links, this
# script), slides/README.md (how to write a deck), .ci/, the course's README
# (it quotes a mutant) and Makefile.
#
# What stays in, though it touches the references: the chapters, whole (their
# excerpts quote the skeletons, the interfaces and the demos, never a
# reference; they link to the pictures programs); the diagrams, pictures of
# runs of the references, not code; harness/NN-name/pictures.c, the programs
# that drew them (the harness's own code around the lesson's interface, linked
# with a reference only by `make diagrams`, which the students' Makefile has
# not); bench.c (its peers are GLib, OpenMP, nginx and the lesson's demos;
# lesson 10's also builds the heavy_on_loop mutant: here it says it could
# not, and leaves that row out);
# lessons/10-server/pool.c, a pool given by design (its chapter says so).
#
# Then every file of the export is searched for the references
# (harness/tools/student-repo/helper.py scan): three consecutive lines of a
# solutions/ file that its skeleton lacks, anywhere, stop the export with the
# list (harness/tools/student-repo/shared-lines.txt names the few lines
# shared by design). Exit 0 with DEST written, 1 when the export would
# reveal a reference (nothing is written), 2 usage.
set -u
here=$PWD
cd "$(dirname "$0")/../.." || exit 2
course=$PWD
tools=$course/harness/tools/student-repo

die() { echo "student-repo: $*" >&2; exit 2; }

dest="" from="" git=1
while [ $# -gt 0 ]; do
	case "$1" in
	--from) [ $# -ge 2 ] || die "--from needs a commit"; from=$2; shift ;;
	--from=*) from=${1#--from=} ;;
	--no-git) git=0 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1' (student-repo.sh --help)" ;;
	*) [ -z "$dest" ] || die "one DEST only"; dest=$1 ;;
	esac
	shift
done
[ -n "$dest" ] || die "usage: make student-repo DEST=dir [FROM=commit]   (where to write the students' repository)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (sudo apt-get install python3)"
if [ "$git" -eq 1 ] || [ -n "$from" ]; then
	command -v git >/dev/null 2>&1 || die "git is needed (sudo apt-get install git)"
fi

case "$dest" in /*) ;; *) dest=$here/$dest ;; esac
dest=$(realpath -m "$dest")
case "$course/" in "$dest"/*) die "$dest holds the course itself" ;; esac
case "$dest/" in
"$course"/build/?*) ;;
"$course"/*)   # inside the course only where git ignores it (the next export must not take it in)
	git check-ignore -q "${dest#"$course"/}" 2>/dev/null ||
		die "$dest is inside the course: choose a folder outside it, or under build/" ;;
esac
if [ -e "$dest" ]; then
	[ -d "$dest" ] && [ -z "$(ls -A "$dest")" ] ||
		die "$dest exists and is not an empty folder: choose a new one (nothing was written)"
fi
mkdir -p "$(dirname "$dest")" || die "cannot create $(dirname "$dest")"

# Scratch: the export is built beside DEST and moved there only once it is
# known to hold no reference.
work="" stage=""
trap 'rm -rf "$work" "$stage"' EXIT
work=$(mktemp -d) || die "mktemp failed"
stage=$(mktemp -d "$(dirname "$dest")/.student-repo.XXXXXX") || die "mktemp in $(dirname "$dest") failed"
list=$work/list

# --- the course's files -------------------------------------------------------
if [ -n "$from" ]; then
	rev=$(git rev-parse --verify --quiet "$from^{commit}") || die "no commit '$from' in $course"
	src=$work/src
	mkdir -p "$src" && git archive "$rev" | tar -x -C "$src" || die "git archive $from failed"
	origin="$(git describe --always --tags "$rev" 2>/dev/null || echo "$rev")"
	files() { git ls-tree -r -z --name-only "$rev"; }
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	src=$course
	origin="$(git describe --always --tags --dirty 2>/dev/null) (work tree)"
	files() { git ls-files -z --cached --others --exclude-standard; }
else
	src=$course
	origin="a folder without git"
	files() { find . -path ./build -prune -o -name node_modules -prune -o -name .git -prune -o -type f -printf '%P\0'; }
fi

keep() {
	case "$1" in
	lessons/*/saved/*) return 1 ;;     # make reset's copies of someone's own work
	lessons/*) return 0 ;;
	slides/node_modules/* | slides/README.md) return 1 ;;   # README.md: how to write a deck
	slides/*) return 0 ;;
	harness/lib/*) return 0 ;;
	harness/mk/selftest.mk) return 1 ;;
	harness/mk/*) return 0 ;;
	harness/tools/check.sh | harness/tools/lessons.sh | harness/tools/deps.sh | \
	harness/tools/lesson-objects.sh | harness/tools/criterion-nogit.sh | harness/tools/watch.sh | harness/tools/reset.sh | \
	harness/tools/doctor.sh | harness/tools/probes/* | harness/tools/slides.sh | \
	harness/tools/bench.sh) return 0 ;;
	harness/[0-9][0-9]-*/mutants/* | harness/[0-9][0-9]-*/mutants.tsv | \
	harness/[0-9][0-9]-*/points.tsv) return 1 ;;
	harness/[0-9][0-9]-*/*) return 0 ;;
	.gitignore) return 0 ;;
	esac
	return 1
}

n=0
while IFS= read -r -d '' f; do
	[ -f "$src/$f" ] && [ ! -L "$src/$f" ] && keep "$f" || continue
	printf '%s\0' "$f"
	n=$((n + 1))
done < <(files) >"$list"
[ -s "$list" ] || die "no course files found in $src"
tar -C "$src" --null -T "$list" -cf - | tar -C "$stage" -xf - || die "copying the course failed"

# --- what is written for the students ------------------------------------------
# Makefile, README.md and .github/workflows/check.yml, from the templates in
# harness/tools/student-repo/ and the course's own Makefile, README and
# manifests.
python3 "$tools/helper.py" generate "$src" "$tools" "$stage" ||
	die "could not write the students' Makefile, README.md and check.yml (above)"

# --- nothing of the references ---------------------------------------------------
bad=$(cd "$stage" && find . \( -path './solutions' -o -path './grading' -o -name mutants -o \
	-name mutants.tsv -o -name points.tsv -o -name '*.patch' \) -printf '%P\n')
[ -z "$bad" ] || { printf 'student-repo: the export would hold:\n%s\n' "$bad" >&2; exit 1; }
found=$(python3 "$tools/helper.py" scan "$src" "$stage" --allow "$tools/shared-lines.txt")
case $? in
0) ;;
1)
	echo "student-repo: these files of the export hold lines of a reference solution (nothing was written):" >&2
	printf '%s\n' "$found" | sed 's/^/  /' >&2
	echo "  (a line shared on purpose goes in harness/tools/student-repo/shared-lines.txt, with the reason)" >&2
	exit 1 ;;
*) die "the export could not be compared with the references (above): nothing was written" ;;
esac

# --- the repository -----------------------------------------------------------------
if [ "$git" -eq 1 ]; then
	name=$(git config user.name 2>/dev/null || echo 'atonce course')
	email=$(git config user.email 2>/dev/null || echo 'atonce@localhost')
	(
		cd "$stage" && git init -q -b main . && git add -A &&
			git -c user.name="$name" -c user.email="$email" -c commit.gpgsign=false \
				commit -q -m "atonce: the course, for its students" \
				-m "Exported by make student-repo from $origin."
	) || die "git init or commit in the export failed"
fi
chmod "$(umask -S)" "$stage"   # mktemp made it 0700
rmdir "$dest" 2>/dev/null
mv "$stage" "$dest" || die "cannot move the export to $dest"
stage=""
echo "wrote $dest: $n course files and a Makefile, README.md and .github/workflows/check.yml for students"
if [ "$git" -eq 1 ]; then
	echo "  a git repository, one commit on main: push it as the assignment's template repository"
else
	echo "  a plain folder (--no-git)"
fi
