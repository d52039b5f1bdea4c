#!/bin/sh
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
# Five processes whatever the number of objects (this shell, cat, readelf,
# objdump, awk): the grader runs it for every lesson of every
# student, and a process costs milliseconds. readelf, not nm: nm loads the
# LTO plugin first, ten times the cost.
#
# Usage: lesson-objects.sh LESSON_DIR "EXTRA_CALLS" OBJECT...
#
# With ATONCE_IMPORTS set (the grader sets it), also writes there what the
# objects import, one "U name" (or "w name", weak) per line, then the
# number of raw system-call instructions: the grader's review of the
# imports reads it instead of reading the objects a second time.
set -u
ldir=$1 extra=$2
shift 2
[ $# -gt 0 ] || exit 0

# What awk reads, in order: the lesson's headers (the interface), the
# allow-list, the objects' tables, their code; each part after a marker
# line that starts with \001 (no C source line does).
{
	cat "$ldir"/*.h 2>/dev/null
	printf '\001calls\n'
	cat "${0%/*}/../mk/calls.txt"
	echo "$extra"
	# With one object readelf names none: the marker names the first.
	printf '\001tables %s\n' "$1"
	readelf -sSW "$@" 2>/dev/null
	printf '\001code\n'
	objdump -d --no-show-raw-insn "$@" 2>/dev/null
} | awk -v objects="$*" -v imports="${ATONCE_IMPORTS:-}" '
	function say(msg) { out[cur] = out[cur] "  " src[cur] ": " msg "\n"; bad = 1 }
	function sorted_list(set,    n, i, j, k, a, t, s) {
		n = 0
		for (k in set) a[++n] = k
		for (i = 2; i <= n; i++)     # names sort as bytes, as C.UTF-8 does
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		s = ""
		for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") a[i]
		return s
	}
	BEGIN {
		part = "headers"
		n_obj = split(objects, obj, " ")
		for (i = 1; i <= n_obj; i++) {
			s = obj[i]; sub(/.*\//, "", s); sub(/\.o$/, "", s)
			src[obj[i]] = s ".c"
		}
	}
	$0 == "\001calls" { part = "calls"; next }
	/^\001tables / { part = "tables"; cur = substr($0, 9); syms = 0; next }
	$0 == "\001code" { part = "code"; cur = ""; next }
	part == "headers" {
		# A declaration: a line that starts with a letter and holds
		# "name(": the last such name on the line is the function.
		if ($0 !~ /^[A-Za-z].*[A-Za-z_0-9]+\(/) next
		line = $0; name = line
		while (match(line, /[ *][A-Za-z_][A-Za-z_0-9]*\(/)) {
			name = substr(line, RSTART + 1, RLENGTH - 2)
			line = substr(line, RSTART + RLENGTH)
		}
		interface[name] = 1
		next
	}
	part == "calls" { sub(/#.*/, ""); for (i = 1; i <= NF; i++) allowed[$i] = 1; next }
	part == "tables" && /^File: / { cur = substr($0, 7); syms = 0; next }
	part == "tables" && /^Symbol table/ { syms = 1; next }
	part == "tables" && !syms && match($0, /\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.[0-9]+)?([^A-Za-z0-9_]|$)/) {
		s = substr($0, RSTART, RLENGTH); sub(/[^A-Za-z0-9_.]$/, "", s)
		if (!((cur, s) in seen)) { seen[cur, s] = 1; secs[cur] = secs[cur] (secs[cur] == "" ? "" : " ") s }
		next
	}
	part == "tables" && syms && $1 ~ /^[0-9]+:$/ && NF >= 8 {
		name = $8; for (i = 9; i <= NF; i++) name = name " " $i
		if ($5 == "LOCAL" || name == "") next
		if ($7 == "UND") {
			if (imports != "")
				print ($5 == "WEAK" ? "w" : "U"), name > imports
			# Calls from the allow-list only.
			if ($5 == "WEAK")
				say("lesson code may not use a weak reference (\047" name "\047)")
			else if (index(name, "@"))
				say("lesson code may not call a versioned name (\047" name "\047)")
			else if (name != "_GLOBAL_OFFSET_TABLE_" && !(name in allowed))
				say("lesson code may not call \047" name "\047 (not among the calls this lesson needs: harness/mk/calls.txt and CALLS in the lesson\047s lesson.mk)")
		} else if ($4 == "IFUNC") {
			say("lesson code may not define \047" name "\047 as an ifunc (code that runs before the tests)")
		} else if (!(name in interface)) {
			# Global definitions: the lesson functions only.
			if (name == "main")
				say("lesson code may not define main (the test program has its own)")
			else if (name ~ /^(at_|cr_|criterion_|__wrap_|__real_|nn_|bxf_)/)
				say("lesson code may not define \047" name "\047: that name belongs to the test harness")
			else
				say("\047" name "\047 is global, but only the lesson\047s functions (" sorted_list(interface) ") may be: make it static")
		}
		next
	}
	part == "code" && /:[ \t]+file format / {
		cur = $0; sub(/:[ \t]+file format .*/, "", cur)
		next
	}
	part == "code" && cur != "" && /(^|[^A-Za-z0-9_])(syscall|sysenter|int +\$0x80)([^A-Za-z0-9_]|$)/ { raw[cur] = 1; n_raw++ }
	END {
		if (imports != "")
			print n_raw + 0 > imports
		for (i = 1; i <= n_obj; i++) {
			o = obj[i]; cur = o
			# No code that runs before or after the tests.
			if (secs[o] != "")
				say("lesson code may not have constructors or destructors (sections: " secs[o] "): nothing may run before or after the tests")
			if (raw[o])
				say("lesson code may not make raw system calls (a syscall instruction): call the library function")
			printf "%s", out[o] > "/dev/stderr"
		}
		if (bad) {
			printf "\n  the lesson code above breaks the rules for lesson files (see harness/tools/lesson-objects.sh): fix it, then build again\n\n" > "/dev/stderr"
			exit 1
		}
	}'
