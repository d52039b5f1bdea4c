#!/usr/bin/env bash
# Description: grade a class on a Slurm cluster. Submits a job array of N
# shards (grading/slurm/shard.sbatch: task K-1 grades slice K/N into
# OUT/shard-K, on a node of its own) and a merge job that starts once every
# shard succeeded (grading/slurm/merge.sbatch: OUT/merged). Prints the two
# job ids.
#
# Usage: grading/slurm/submit.sh [-n SHARDS] [-t TIME] SUBMISSIONS OUT [GRADE_OPTION...]
#   -n SHARDS     how many shards, so how many nodes at once (default 4)
#   -t TIME       each shard's time limit (sbatch --time, e.g. 2:00:00)
#   SUBMISSIONS   the class folder (or archive), OUT the reports' folder:
#                 both on a file system every node sees, as is this checkout
#   GRADE_OPTION  passed to every shard's grading/grade (--lesson 2 ...)
# sbatch's own variables choose the rest: SBATCH_PARTITION, SBATCH_ACCOUNT,
# SBATCH_QOS, SBATCH_TIMELIMIT...
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
usage() { sed -n 's/^# Usage: //p' "$0"; }
die() { echo "submit.sh: $*" >&2; exit 2; }

n=4 time=
while getopts n:t:h o; do
	case $o in
	n) n=$OPTARG ;;
	t) time=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { usage >&2; exit 2; }
case "$n" in ''|*[!0-9]*|0) die "-n wants a number of shards (1 or more), not '$n'" ;; esac
command -v sbatch >/dev/null 2>&1 || die "sbatch is not here: run this on a Slurm login node"
[ -e "$1" ] || die "no submissions at $1"
subs=$(realpath "$1") || exit 2
out=$(realpath -m "$2") || exit 2
shift 2
# OUT and its logs: the students' reports, for the instructor only (0700 when made here).
mkdir -p "$(dirname "$out")" || die "cannot make $(dirname "$out")"
for d in "$out" "$out/logs"; do
	[ -d "$d" ] || mkdir -m 700 "$d" || die "cannot make $d"
done

array=$(sbatch --parsable --array="0-$((n - 1))" ${time:+--time="$time"} \
	--job-name=atonce-grade --output="$out/logs/shard-%A_%a.log" \
	"$here/shard.sbatch" "$root" "$n" "$subs" "$out" "$@") || die "sbatch refused the shards"
array=${array%%;*}             # --parsable: JOBID[;CLUSTER]
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
	--job-name=atonce-merge --output="$out/logs/merge-%j.log" \
	"$here/merge.sbatch" "$root" "$n" "$out")
if [ -z "$merge" ]; then
	scancel "$array"
	die "sbatch refused the merge job: the shards (job $array) are cancelled"
fi
merge=${merge%%;*}
echo "shards $array  array 0-$((n - 1)), task K-1 grades $out/shard-K (log: $out/logs/shard-${array}_TASK.log)"
echo "merge  $merge  after every shard succeeded: $out/merged (log: $out/logs/merge-$merge.log)"
