#!/usr/bin/env bash
# Description: make sure the tools a make target needs are installed.
#
# Usage: deps.sh SET...   where SET is one of: build, docs, slides, bench, grade
#   build   a C compiler, make, patch, pkg-config, Criterion, liburing (+ coreutils timeout)
#   docs    Graphviz (dot) and python3, for diagrams and the chapter checks
#   slides  pandoc and npm, for the reveal.js decks
#   bench   the real peers the benchmarks compare with (GLib's thread pool)
#   browser Chromium (headless), node and npm, for the browser check and slides-pdf
#   grade   bubblewrap and unzip, for the sandboxed autograder
#   mpi     MPICH, Open MPI and SimGrid's SMPI (lesson 09; `build` needs
#           them too once lessons/09-message-passing exists)
#   http    nginx, wrk, slowhttptest and python3-h11, for lesson 10's server
#           (build needs them too while lessons/10-server exists)
#   slurm   Slurm's daemons and client (slurmctld, slurmd, sbatch) and munge,
#           for grading/slurm/test.sh's one-node cluster
#
# As root, whatever is missing is installed with apt-get (after one
# `apt-get update` when the package lists are empty or stale). Otherwise the
# exact command to run is printed and the script exits 1: nothing is ever
# installed behind a non-root user's back.
set -u

missing=()

need_cmd() {        # need_cmd COMMAND DEBIAN_PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

need_sbin() {       # need_sbin DAEMON DEBIAN_PACKAGE (a user's PATH may lack /usr/sbin)
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2")
}

need_pc() {         # need_pc PKGCONFIG_NAME DEBIAN_PACKAGE
	if ! command -v pkg-config >/dev/null 2>&1 ||
	   ! pkg-config --exists "$1" 2>/dev/null; then
		missing+=("$2")
	fi
}

need_http() {       # lesson 10: the peer, the load, the attack, the strict parser
	need_cmd nginx nginx
	need_cmd wrk wrk
	need_cmd slowhttptest slowhttptest
	# Debian's h11 is for Debian's python3, whatever python3 comes first in PATH
	/usr/bin/python3 -c 'import h11' >/dev/null 2>&1 || missing+=(python3-h11)
}

need_mpi() {        # lesson 09: two real MPIs and a simulated cluster
	need_cmd mpicc.mpich mpich
	need_pc mpich libmpich-dev
	need_cmd mpicc.openmpi openmpi-bin
	need_pc ompi-c libopenmpi-dev
	need_cmd smpicc libsimgrid-dev
	need_cmd smpirun simgrid
}

for set in "$@"; do
	case "$set" in
	build)
		need_cmd cc gcc
		need_cmd make make
		need_cmd patch patch
		need_cmd pkg-config pkg-config
		need_cmd timeout coreutils
		need_pc criterion libcriterion-dev
		need_pc liburing liburing-dev
		[ -d "$(dirname "$0")/../../lessons/10-server" ] && need_http
		[ -d "$(dirname "$0")/../../lessons/09-message-passing" ] && need_mpi
		;;
	mpi)
		need_mpi
		;;
	http)
		need_http
		;;
	docs)
		need_cmd dot graphviz
		need_cmd python3 python3
		;;
	slides)
		need_cmd pandoc pandoc
		need_cmd npm npm
		;;
	bench)
		need_pc glib-2.0 libglib2.0-dev
		;;
	browser)
		need_cmd chromium chromium
		need_cmd node nodejs
		need_cmd npm npm
		need_cmd pdfinfo poppler-utils
		;;
	slurm)
		need_sbin slurmctld slurmctld
		need_sbin slurmd slurmd
		need_sbin munged munge
		need_cmd sbatch slurm-client
		need_cmd scontrol slurm-client
		;;
	grade)
		need_cmd bwrap bubblewrap
		need_cmd unzip unzip
		need_cmd prlimit util-linux
		need_cmd setpriv util-linux
		;;
	*)
		echo "deps.sh: unknown set '$set' (build, docs, slides, bench, browser, grade, mpi, http, slurm)" >&2
		exit 2
		;;
	esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

# Unique, in order.
pkgs=$(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
pkgs=${pkgs% }

if [ "$(id -u)" -ne 0 ]; then
	echo "atonce needs these Debian/Ubuntu packages: $pkgs" >&2
	echo "Install them with:" >&2
	echo "    sudo apt-get update && sudo apt-get install -y $pkgs" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "atonce needs: $pkgs, and this machine has no apt-get." >&2
	echo "Install the equivalent packages with your package manager, then run make again." >&2
	exit 1
fi

echo "atonce: installing $pkgs (as root, with apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty on a fresh image, or too old to name the
# current versions: refresh them once, then install. Two parts of `make
# test` may install at once (the Slurm test and another's tools): the
# second waits for dpkg's lock (up to 10 min) instead of failing on it.
lock='-o DPkg::Lock::Timeout=600'
# shellcheck disable=SC2086
if ! apt-get $lock install -y -q --no-install-recommends $pkgs >/tmp/atonce-apt.log 2>&1; then
	apt-get $lock update -q >>/tmp/atonce-apt.log 2>&1
	if ! apt-get $lock install -y -q --no-install-recommends $pkgs >>/tmp/atonce-apt.log 2>&1; then
		tail -n 20 /tmp/atonce-apt.log >&2
		echo "atonce: apt-get install $pkgs failed (full log: /tmp/atonce-apt.log)" >&2
		exit 1
	fi
fi
exit 0
