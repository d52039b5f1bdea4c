#!/bin/sh
# Description: a stand-in for the libgit2 that Criterion loads, for our test
# programs to load instead.
#
# Criterion needs libgit2 for one thing: the diff it prints when an eq()
# assertion on two strings fails (cr_assert(eq(str, ...))). No atonce test
# uses those (the checks are AT_CHECK lines that say what they measured, and
# `make test` fails if one appears). Yet every test process loads libgit2
# and the fifteen libraries behind it (Kerberos, SSH, TLS, PCRE), and
# libgit2 reads the system's TLS certificates as it starts: 25 ms of CPU
# for each of the ~150 test processes of a student's ten lessons. The
# stand-in has the three functions Criterion calls: it starts, stops, and
# has no diff to give (Criterion then prints none).
#
# Writes DIR/flags: the link flags of a test program (a DT_RPATH, which
# holds for the libraries' own dependencies too, relative to the program:
# build/NN-name/IMPL/run finds build/harness/nogit). Empty when this
# machine's Criterion calls other libgit2 functions, or is linked without
# it: the programs then load the real one, as before.
#
# Usage: criterion-nogit.sh DIR   (called by harness/mk/common.mk)
set -u
dir=$1
cc=${CC:-cc}
mkdir -p "$dir"
: >"$dir/flags.tmp"
libdir=$(pkg-config --variable=libdir criterion 2>/dev/null)
lib=$(readlink -f "${libdir:-/usr/lib}/libcriterion.so" 2>/dev/null)
soname=$(readelf -dW "$lib" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(libgit2\.so[^]]*\)\].*/\1/p')
uses=$(readelf --dyn-syms -W "$lib" 2>/dev/null | awk '$7 == "UND" && $8 ~ /^git_/ { sub(/@.*/, "", $8); print $8 }' | sort -u | tr '\n' ' ')
if [ -n "$soname" ] && [ "$uses" = "git_diff_buffers git_libgit2_init git_libgit2_shutdown " ]; then
	cat >"$dir/nogit.c" <<'EOF'
/* nogit.c - written by harness/tools/criterion-nogit.sh: see there. */
int git_libgit2_init(void);
int git_libgit2_shutdown(void);
int git_diff_buffers(void);

/* libgit2's count of initialisations: 1 after the first. */
int git_libgit2_init(void)
{
	return 1;
}

int git_libgit2_shutdown(void)
{
	return 0;
}

/* GIT_ERROR: Criterion's diff stays empty. */
int git_diff_buffers(void)
{
	return -1;
}
EOF
	if "$cc" -shared -fPIC -O2 -Wl,-soname,"$soname" -o "$dir/$soname" "$dir/nogit.c"; then
		# Quoted: the rpath's $ORIGIN is the loader's, not the shell's.
		printf "%s\n" "-Wl,--disable-new-dtags '-Wl,-rpath,\$ORIGIN/../../harness/nogit'" >"$dir/flags.tmp"
	fi
fi
mv "$dir/flags.tmp" "$dir/flags"
