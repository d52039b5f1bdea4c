#!/bin/sh
# Description: what each MPI's compiler wrapper adds to the compiler's
# command line, as make variables, so that the builds call the compiler
# directly.
#
# mpicc.mpich, mpicc.openmpi and smpicc each run the C compiler with some
# flags before and after the caller's (include folders, libraries, for
# SimGrid a header and -fPIC/-shared). The wrappers themselves are scripts
# or programs that cost far more than compiling heat.c (mpicc.mpich: 0.3
# CPU-s against gcc's 0.03), and the grader builds each student's heat.c
# with all three. This asks each wrapper once what it would run (-show,
# -showme) and writes, for NAME in mpich, openmpi, smpi:
#
#   M_CC_NAME      the compiler it runs
#   M_CPRE_NAME    its flags before the caller's, to compile (-c)
#   M_CPOST_NAME   its flags after them
#   M_LPRE_NAME    the same to link (-o)
#   M_LPOST_NAME
#
# lesson.mk includes the result; a wrapper missing, or one that does not
# answer in this form, is left out and the build calls it as before.

set -f   # the wrappers' words are flags, never patterns

show() { # NAME WRAPPER SHOW-FLAG
	command -v "$2" >/dev/null 2>&1 || return 0
	c=$("$2" "$3" -c /atonce-in.c 2>/dev/null) || return 0
	l=$("$2" "$3" -o /atonce-out /atonce-in.o 2>/dev/null) || return 0
	split "$c" '-c /atonce-in.c' || return 0
	cc=$first cpre=$pre cpost=$post
	split "$l" '-o /atonce-out /atonce-in.o' || return 0
	[ "$first" = "$cc" ] || return 0
	printf 'M_CC_%s := %s\n' "$1" "$cc"
	printf 'M_CPRE_%s := %s\nM_CPOST_%s := %s\n' "$1" "$cpre" "$1" "$cpost"
	printf 'M_LPRE_%s := %s\nM_LPOST_%s := %s\n' "$1" "$pre" "$1" "$post"
}

# split COMMAND PLACEHOLDER: first (the compiler), pre and post (the words
# before and after the placeholder's words, which must appear once, in
# order). Fails when the command does not read so.
split() {
	first= pre= post= rest=$2 seen=0
	for w in $1; do
		if [ -z "$first" ]; then
			first=$w
		elif [ -n "$rest" ] && [ "$w" = "${rest%% *}" ]; then
			case $rest in *' '*) rest=${rest#* } ;; *) rest= seen=1 ;; esac
		elif [ "$seen" = 1 ]; then
			post="$post${post:+ }$w"
		elif [ "$rest" = "$2" ]; then
			pre="$pre${pre:+ }$w"
		else
			return 1        # the placeholder's words came apart
		fi
	done
	[ "$seen" = 1 ]
}

show mpich mpicc.mpich -show
show openmpi mpicc.openmpi -showme
show smpi smpicc -show
