# lessons.sh - shared shell helpers: find lessons by number or name.
# Sourced by check.sh and project-tests.sh; not run on its own.

# All lesson folder names, in order: 01-interleaving 02-threads ...
all_lessons() {
	local d
	for d in lessons/[0-9][0-9]-*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		echo "${d#lessons/}"
	done
}

# resolve_lesson 1 | 01 | 01-interleaving | lessons/01-interleaving -> 01-interleaving
resolve_lesson() {
	local want=${1%/} d
	want=${want#lessons/}
	case "$want" in
	[0-9] | [0-9][0-9])
		want=$(printf '%02d' "$((10#$want))")
		for d in lessons/"$want"-*/; do
			[ -d "$d" ] && { d=${d%/}; echo "${d#lessons/}"; return 0; }
		done
		;;
	*)
		[ -d "lessons/$want" ] && { echo "$want"; return 0; }
		;;
	esac
	echo "no lesson '$1': choose one of: $(all_lessons | tr '\n' ' ')" >&2
	return 1
}

# mutants_of LESSON -> lines "name<TAB>caught_by<TAB>mistake"
# (the mistake itself is harness/LESSON/mutants/name.patch)
mutants_of() {
	grep -v '^#' "harness/$1/mutants.tsv" 2>/dev/null | grep -v '^[[:space:]]*$'
}

# manifest LESSON VAR -> the expanded value of VAR in harness/LESSON/lesson.mk
manifest() {
	make --no-print-directory -s -f harness/mk/lesson.mk LESSON_NAME="$1" "print-$2"
}
