#!/usr/bin/env bash
# Description: what a lesson file may be, checked on its compiled objects
# before anything links them into a test program (make check, make test and
# the grader alike). Code under test runs inside the test process, so:
#   - its global definitions are exactly the lesson's functions (those its
#     headers declare); everything else must be static: a global `main`,
#     `at_usable_cpus`, `sched_getcpu` or `exit` would replace what the
#     tests measure with;
#   - no constructors or destructors (.init_array, .fini_array, .ctors,
#     .dtors, .preinit_array, .init, .fini) and no ifunc resolvers: code
#     that runs before or after the tests;
#   - it calls only what the allow-list names (harness/mk/calls.txt plus the
#     lesson's CALLS): no weak references, no versioned names, no raw
#     system-call instructions.
# Compare with grading/grade, which runs these builds in a sandbox.
#
# Usage: lesson-objects.sh LESSON_DIR "EXTRA_CALLS" OBJECT...
set -u
ldir=$1 extra=$2
shift 2

interface=$(cat "$ldir"/*.h 2>/dev/null | grep -E '^[A-Za-z].*[A-Za-z_0-9]+\(' |
	sed -E 's/.*[ *]([A-Za-z_][A-Za-z_0-9]*)\(.*/\1/' | sort -u)
allowed=$( { sed 's/#.*//' "$(dirname "$0")/../mk/calls.txt"; echo "$extra"; } | tr -s ' \t' '\n\n' | grep -v '^$' | sort -u)
# Looked up as keys, not with a grep per name: a lesson's objects import
# dozens of names, and this runs for every build of every student.
declare -A is_interface=() is_allowed=()
set -f   # the names are words, never patterns
for n in $interface; do is_interface[$n]=1; done
for n in $allowed; do is_allowed[$n]=1; done
set +f
# scan OBJECT: what its tables hold, one line each, in one readelf: "def T
# NAME" (a global definition; i for an ifunc), "use U NAME" (undefined; w
# when weak), "section NAME" (one that runs code before or after main).
# readelf, not nm: nm loads the LTO plugin first, ten times the cost.
scan() {
	readelf -sSW "$1" 2>/dev/null | awk '
		/^Symbol table/ { syms = 1; next }
		!syms && match($0, /\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.[0-9]+)?([^A-Za-z0-9_]|$)/) {
			s = substr($0, RSTART, RLENGTH); sub(/[^A-Za-z0-9_.]$/, "", s)
			if (!(s in seen)) { seen[s] = 1; print "section -", s }
			next
		}
		syms && $1 ~ /^[0-9]+:$/ && NF >= 8 {
			name = $8; for (i = 9; i <= NF; i++) name = name " " $i
			if ($5 == "LOCAL" || name == "") next
			if ($7 == "UND") print "use", ($5 == "WEAK" ? "w" : "U"), name
			else print "def", ($4 == "IFUNC" ? "i" : "T"), name
		}'
}
bad=0
say() { printf '  %s: %s\n' "$1" "$2" >&2; bad=1; }

for o in "$@"; do
	src=${o##*/}
	src=${src%.o}.c
	secs=
	while read -r what type name; do
		case "$what" in
		def)	# Global definitions: the lesson's functions only.
			if [ "$type" = i ]; then
				say "$src" "lesson code may not define '$name' as an ifunc (code that runs before the tests)"
			elif [ -z "${is_interface[$name]+x}" ]; then
				case "$name" in
				main) say "$src" "lesson code may not define main (the test program has its own)" ;;
				at_* | cr_* | criterion_* | __wrap_* | __real_* | nn_* | bxf_*)
					say "$src" "lesson code may not define '$name': that name belongs to the test harness" ;;
				*) say "$src" "'$name' is global, but only the lesson's functions ($(echo $interface | tr ' ' ',' | sed 's/,/, /g')) may be: make it static" ;;
				esac
			fi ;;
		use)	# Calls from the allow-list only.
			if [ "$type" = w ]; then
				say "$src" "lesson code may not use a weak reference ('$name')"
			elif [[ "$name" == *@* ]]; then
				say "$src" "lesson code may not call a versioned name ('$name')"
			elif [ "$name" != _GLOBAL_OFFSET_TABLE_ ] && [ -z "${is_allowed[$name]+x}" ]; then
				say "$src" "lesson code may not call '$name' (not among the calls this lesson needs: harness/mk/calls.txt and CALLS in the lesson's lesson.mk)"
			fi ;;
		section) secs+="$name " ;;
		esac
	done < <(scan "$o")
	# No code that runs before or after the tests.
	[ -n "$secs" ] && say "$src" "lesson code may not have constructors or destructors (sections: ${secs% }): nothing may run before or after the tests"
	if objdump -d --no-show-raw-insn "$o" 2>/dev/null | grep -qwE 'syscall|sysenter|int +\$0x80'; then
		say "$src" "lesson code may not make raw system calls (a syscall instruction): call the library function"
	fi
done
if [ "$bad" -ne 0 ]; then
	printf '\n  the lesson code above breaks the rules for lesson files (see harness/tools/lesson-objects.sh): fix it, then build again\n\n' >&2
	exit 1
fi
exit 0
