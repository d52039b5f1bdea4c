#!/usr/bin/env bash
# Description: `make doctor`: what this machine offers the course, on one
# screen: the CPUs the tests may use and what limits them, io_uring, the
# sanitizers, the tools each lesson or target needs, and their versions.
# It installs nothing and changes nothing; each "no" says what follows.
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${BUILD:-build}/doctor
mkdir -p "$build"

line() { printf '  %-16s %s\n' "$1" "$2"; }
ver() {   # ver COMMAND [ARGS]: first line of its version, or "missing"
	local c=$1
	shift
	if command -v "$c" >/dev/null 2>&1; then "$c" "$@" 2>&1 | head -n 1 | cut -c1-70; else echo "missing"; fi
}
pc() { pkg-config --modversion "$1" 2>/dev/null || echo "missing (Debian: $2)"; }

echo "atonce doctor: $(uname -srm), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), user $(id -un)"
echo
echo "measuring"
cc=${CC:-cc}
if command -v "$cc" >/dev/null 2>&1 && pkg-config --exists liburing 2>/dev/null; then
	"$cc" -std=gnu11 -D_GNU_SOURCE -O2 -Iharness/lib -o "$build/cpus_probe" harness/tools/probes/cpus_probe.c \
		harness/lib/at_cpu.c harness/lib/at_time.c -pthread 2>"$build/cc.log" &&
		line "CPUs" "$("$build/cpus_probe")" || line "CPUs" "probe did not build (see $build/cc.log)"
	if "$cc" -std=gnu11 -O2 -o "$build/uring_probe" harness/tools/probes/uring_probe.c $(pkg-config --libs liburing) 2>>"$build/cc.log"; then
		if said=$("$build/uring_probe"); then line "io_uring" "$said"
		else line "io_uring" "$said: lesson 06 skips its tests, with this reason"; fi
	else
		line "io_uring" "probe did not build (see $build/cc.log)"
	fi
	"$cc" -std=gnu11 -O2 -o "$build/no_uring" harness/tools/probes/no_uring.c 2>>"$build/cc.log" || true
	if echo 'int main(void){return 0;}' | "$cc" -x c -fsanitize=thread -o "$build/tsan" - 2>/dev/null &&
		"$build/tsan" 2>"$build/tsan.log"; then
		line "ThreadSanitizer" "works"
	else
		line "ThreadSanitizer" "cannot run here ($(head -n 1 "$build/tsan.log" 2>/dev/null | cut -c1-60)): race checks skip; try setarch -R"
	fi
else
	line "CPUs" "$(nproc) online (build tools missing: run make check once to install them)"
fi
line "load" "$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min): above $(nproc) means other programs compete for the CPUs"
line "sandbox" "$(if command -v bwrap >/dev/null 2>&1 && bwrap --unshare-all --ro-bind / / true 2>/dev/null; then echo "bubblewrap works (make grade)"; else echo "bubblewrap missing or refused: make grade needs it (or --unsafe)"; fi)"
echo
echo "tools"
line "compiler" "$(ver "$cc" --version)"
line "make" "$(ver make --version)"
line "Criterion" "$(pc criterion libcriterion-dev)"
line "liburing" "$(pc liburing liburing-dev)"
line "Graphviz" "$(ver dot -V)"
line "python3" "$(ver python3 --version)"
line "pandoc" "$(ver pandoc --version) (make slides)"
line "GLib" "$(pc glib-2.0 libglib2.0-dev) (make bench, lesson 07)"
line "MPI" "$(for m in mpicc.openmpi mpicc.mpich smpicc; do command -v $m >/dev/null 2>&1 && printf '%s ' "$m"; done | sed 's/ $//;s/^$/none (lesson 09 installs it, or skips)/')"
line "HTTP peers" "$(for m in nginx wrk slowhttptest; do command -v $m >/dev/null 2>&1 && printf '%s ' "$m"; done | sed 's/ $//;s/^$/none (lesson 10 installs them, or skips)/')"
line "browser" "$(ver chromium --version) (the browser check of make test)"
echo
echo "make check LESSON=n needs the compiler, make, Criterion and liburing; as root they install themselves."
