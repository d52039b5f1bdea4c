#!/usr/bin/env bash
# Description: grading on Slurm, for real. Starts a one-node Slurm cluster
# from Debian's packages (munged, slurmctld, slurmd; installed by
# `harness/tools/deps.sh slurm`), configured entirely under build/slurm/
# (slurm.conf, a fresh munge key, state, spool, logs and pid files, a free
# port pair, this host as the node with its real CPUs and memory), started
# and stopped by PID, never by systemctl. It runs a trivial job, then submits
# a small class (lesson 01: the reference, the skeleton, a mutant, a partial
# submission) with grading/slurm/submit.sh as a 2-task array plus the
# dependent merge, and compares the merged reports with a plain grading/grade
# run of the same folder: every student's points, maximum and notes, and
# every test's verdict. One line per step, "ok"/"FAILED" lines; exit 1 when
# one failed, 77 (skipped, with the reason) when Slurm cannot run here.
# Every wait has a deadline; the daemons, the jobs and everything they
# started are stopped on every way out.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
base=$root/build/slurm
t0=$(date +%s)
failed=0
exec 3>&1 4>&2     # kept for the traps

step() { printf '%s\n' "$*"; }
ok()   { printf '  ok      %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -n 15 | sed 's/^/          | /'; return 0; }
skip() { printf 'SKIPPED  the Slurm test: %s\n' "$1"; exit 77; }
elapsed() { echo $(($(date +%s) - t0)); }

# ---------------------------------------------------------------- can it run here
[ "$(uname -s)" = Linux ] || skip "Slurm's daemons need Linux (this is $(uname -s))"
if [ "$(id -u)" -ne 0 ]; then
	# slurmd starts each job as its owner (setuid) and slurmctld/slurmd
	# run as SlurmUser: a one-node cluster for tests needs root.
	skip "starting slurmd needs root (it launches every job as the job's owner); run it as root"
fi
step "Slurm's packages (harness/tools/deps.sh slurm grade)"
if ! deps_out=$(harness/tools/deps.sh slurm grade 2>&1); then
	skip "Slurm's packages are missing and could not be installed: $(printf '%s' "$deps_out" | tail -n 3 | tr '\n' ' ')"
fi
PATH=$PATH:/usr/sbin:/sbin
# Debian's python3 when there is one: a shim (pyenv) in PATH can take seconds to start.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
for c in munged munge unmunge slurmctld slurmd sbatch squeue scontrol scancel sinfo python3; do
	command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (harness/tools/deps.sh slurm)"
done
ok "$(slurmctld -V) and munge $(munged -V 2>&1 | awk '{ print $1 }' | sed 's/^munge-//')"

# ---------------------------------------------------------------- stopping, on every way out
# Everything this test starts carries ATONCE_SLURM_TEST=$tag in its
# environment (the daemons, and the jobs through sbatch, which passes its
# environment on): whatever is left of it at the end is found by that and
# killed by PID, and nothing else is touched.
tag="$base:$$:$(date +%s%N)"
munged_pid='' ctld_pid='' slurmd_pid='' plain_pid='' sock_tmp=''
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop_pid() {   # stop_pid PID NAME: SIGTERM, up to 10 s, then SIGKILL
	local p=$1
	alive "$p" || { wait "$p" 2>/dev/null; return 0; }
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
	if alive "$p"; then
		echo "  ($2, pid $p, ignored SIGTERM for 10 s: SIGKILL)"
		kill -KILL "$p" 2>/dev/null
		for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
	fi
	wait "$p" 2>/dev/null
	return 0
}
tagged() {   # tagged [PREFIX]: the PIDs of what this test started (or, with "$base:", any run of it in this checkout)
	"$py" - "ATONCE_SLURM_TEST=${1:-$tag}" "${1:+prefix}" "$$" <<'PY'
import os, sys
want, prefix, me = sys.argv[1].encode(), sys.argv[2], {sys.argv[3], str(os.getpid()), str(os.getppid())}
for p in os.listdir('/proc'):
    if p.isdigit() and p not in me:
        try:
            env = open('/proc/%s/environ' % p, 'rb').read().split(b'\0')
        except OSError:
            continue
        if any(e.startswith(want) if prefix else e == want for e in env):
            print(p)
PY
}
kill_tagged() {   # kill_tagged [PREFIX]: SIGTERM, up to 5 s, then SIGKILL (slurmstepd ignores SIGTERM)
	local left _
	mapfile -t left < <(tagged "$@")
	[ ${#left[@]} -eq 0 ] && return 0
	kill -TERM "${left[@]}" 2>/dev/null
	for _ in $(seq 15); do
		sleep 0.3
		mapfile -t left < <(tagged "$@")
		[ ${#left[@]} -eq 0 ] && return 0
	done
	kill -KILL "${left[@]}" 2>/dev/null
	for _ in $(seq 10); do
		sleep 0.3
		mapfile -t left < <(tagged "$@")
		[ ${#left[@]} -eq 0 ] && return 0
	done
}
show_left() {   # the processes still there, if any (status 1 then)
	local left
	mapfile -t left < <(tagged)
	[ ${#left[@]} -eq 0 ] && return 0
	ps -o pid=,args= -p "$(IFS=,; echo "${left[*]}")"
	return 1
}
cleaned=0
cleanup() {   # at most about a minute, a few seconds when all goes well
	[ "$cleaned" = 1 ] && return
	cleaned=1
	trap '' INT TERM HUP PIPE
	local end
	# The jobs first, while slurmctld and slurmd can still end them: scancel
	# sends SIGTERM, and SIGKILL KillWait (5 s) later.
	if alive "$ctld_pid" && alive "$slurmd_pid"; then
		timeout 5 scancel --quiet --full "--user=$(id -un)" >/dev/null 2>&1
		end=$(($(date +%s) + 15))
		while [ "$(date +%s)" -lt "$end" ] && [ -n "$(timeout 5 squeue -h -o %i 2>/dev/null)" ]; do
			sleep 0.3
		done
	fi
	stop_pid "$plain_pid" "the plain grader"
	stop_pid "$slurmd_pid" slurmd
	stop_pid "$ctld_pid" slurmctld
	stop_pid "$munged_pid" munged
	kill_tagged        # what outlived them: slurmstepd, a job's processes
}
on_exit() {
	local code=$? left
	exec >&3 2>&4      # the test's own output, whatever redirection the signal came in
	cleanup
	[ -n "$sock_tmp" ] && rm -rf "$sock_tmp"
	if ! left=$(show_left); then
		fail "nothing left running after the test" "$left"
		[ "$code" -eq 0 ] && code=1
	fi
	exit "$code"
}

# One run at a time in a checkout (they would share build/slurm/).
mkdir -p "$root/build" || exit 2
exec 9>"$root/build/slurm.lock"
if ! flock -w 300 9; then
	fail "another grading/slurm/test.sh in this checkout still runs after 300 s"
	exit 1
fi
trap on_exit EXIT
trap 'echo "interrupted" >&3; exit 130' INT TERM HUP

# What an earlier run left behind (killed with -9) is stopped first.
kill_tagged "$base:"
rm -rf "$base"
mkdir -p "$base"/{etc,munge,state,spool,log,run,jobs} || exit 2
chmod 700 "$base/munge"

# The munge socket's path must fit a Unix socket address (108 bytes).
sockdir=$base/run
if [ ${#sockdir} -gt 90 ]; then
	sockdir=$(mktemp -d /tmp/atonce-slurm.XXXXXX) || exit 2
	sock_tmp=$sockdir
fi
chmod 755 "$sockdir"
sock=$sockdir/munge.socket

waitfor() {   # waitfor SECONDS WHAT PID-THAT-MUST-LIVE LOG COMMAND...: poll every 0.2 s
	local limit=$1 what=$2 pid=$3 log=$4 end
	shift 4
	end=$(($(date +%s) + limit))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		if [ -n "$pid" ] && ! alive "$pid"; then
			fail "$what: the daemon exited" "$(tail -n 15 "$log" 2>/dev/null)"
			return 1
		fi
		sleep 0.2
	done
	fail "$what: not within ${limit} s" "$(tail -n 15 "$log" 2>/dev/null)"
	return 1
}
give_up() { step "giving up after $(elapsed) s"; exit 1; }

# ---------------------------------------------------------------- munge
step "munged with a fresh key, under build/slurm/"
dd if=/dev/urandom of="$base/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$base/munge/munge.key" || exit 2
env ATONCE_SLURM_TEST="$tag" munged --foreground --force \
	--key-file="$base/munge/munge.key" --socket="$sock" \
	--pid-file="$base/run/munged.pid" --seed-file="$base/munge/munged.seed" \
	--log-file="$base/log/munged.log" >>"$base/log/munged.log" 2>&1 </dev/null &
munged_pid=$!
munge_works() { munge -n -S "$sock" | unmunge -S "$sock"; }
waitfor 10 "munged answers on $sock" "$munged_pid" "$base/log/munged.log" munge_works || give_up
ok "munged runs (pid $munged_pid) and its credentials decode"

# ---------------------------------------------------------------- slurm.conf
step "slurm.conf for a one-node cluster: this host, its real CPUs and memory, a free port pair"
host=$(hostname -s 2>/dev/null || hostname)
node=$(slurmd -C 2>/dev/null | head -n 1)
case "$node" in
NodeName=*) ;;
*) fail "slurmd -C describes this host" "$node"; give_up ;;
esac
node=${node#NodeName=* }      # CPUs=... RealMemory=...
ports=$("$py" - <<'PY'
import socket
# Two ports free on every address now, next to each other.
for p in range(0, 200):
    ss = []
    try:
        for q in (0, 1):
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('', 0) if q == 0 else ('', ss[0].getsockname()[1] + 1)); ss.append(s)
        print(ss[0].getsockname()[1], ss[1].getsockname()[1]); break
    except OSError:
        pass
    finally:
        for s in ss: s.close()
PY
)
ctld_port=${ports% *} slurmd_port=${ports#* }
if [ -z "$ctld_port" ] || [ -z "$slurmd_port" ]; then fail "two free ports"; give_up; fi
conf=$base/etc/slurm.conf
cat >"$conf" <<EOF
# Written by grading/slurm/test.sh: a one-node cluster, everything under $base
ClusterName=atonce-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=atonce Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf
ok "node $host: $node; ports $ctld_port (slurmctld) and $slurmd_port (slurmd)"

# ---------------------------------------------------------------- slurmctld, slurmd
step "slurmctld and slurmd, started by PID"
env ATONCE_SLURM_TEST="$tag" slurmctld -D -i -f "$conf" >>"$base/log/slurmctld.out" 2>&1 </dev/null &
ctld_pid=$!
ctld_up() { scontrol ping | grep -q 'is UP'; }
waitfor 30 "slurmctld answers (scontrol ping)" "$ctld_pid" "$base/log/slurmctld.log" ctld_up || give_up
env ATONCE_SLURM_TEST="$tag" slurmd -D -f "$conf" -N "$host" >>"$base/log/slurmd.out" 2>&1 </dev/null &
slurmd_pid=$!
node_idle() { [ "$(sinfo -h -n "$host" -o %t)" = idle ]; }
waitfor 30 "node $host is idle (sinfo)" "$slurmd_pid" "$base/log/slurmd.log" node_idle || give_up
ok "slurmctld (pid $ctld_pid) and slurmd (pid $slurmd_pid) up, node $host idle after $(elapsed) s"

submit_env() { env ATONCE_SLURM_TEST="$tag" "$@"; }
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | cut -d= -f2 | tr '\n' ' ' | sed 's/ $//'; }
job_done() {   # every job (and array task) of the ids given has ended
	local j s
	for j in "$@"; do
		s=$(job_state "$j")
		case "$s" in
		''|*PENDING*|*RUNNING*|*CONFIGURING*|*COMPLETING*|*SUSPENDED*|*REQUEUE*|*RESIZING*) return 1 ;;
		esac
	done
}

# ---------------------------------------------------------------- a trivial job
step "a trivial job (sbatch --wrap)"
job=$(submit_env sbatch --parsable --job-name=atonce-hello --output="$base/jobs/hello.out" --wrap 'echo "hello from $(hostname), job $SLURM_JOB_ID, $(nproc) CPUs"')
job=${job%%;*}
if [ -z "$job" ]; then
	fail "sbatch accepted the job" "$(tail -n 5 "$base/log/slurmctld.log")"
	give_up
fi
waitfor 30 "job $job ended" "$ctld_pid" "$base/log/slurmctld.log" job_done "$job" || give_up
if [ "$(job_state "$job")" = COMPLETED ] && grep -q "hello from .*job $job" "$base/jobs/hello.out"; then
	ok "job $job COMPLETED: $(cat "$base/jobs/hello.out")"
else
	fail "job $job completed (state $(job_state "$job"))" "$(cat "$base/jobs/hello.out" 2>/dev/null; tail -n 8 "$base/log/slurmd.log")"
	give_up
fi

# ---------------------------------------------------------------- the class
step "a class of 4 for lesson 01: the reference, the skeleton, a mutant (.tar.gz), green.c alone"
class=$base/class
mkdir -p "$class/reference/lessons" "$class/skeleton" "$class/partial/lessons/01-interleaving" "$base/mutant/lessons" || exit 2
cp -r solutions/01-interleaving "$class/reference/lessons/"
cp -r lessons/01-interleaving "$class/skeleton/"                            # the other layout: NN-name/ at the top
cp solutions/01-interleaving/green.c "$class/partial/lessons/01-interleaving/"   # explore.c: the skeleton's stands in
cp -r solutions/01-interleaving "$base/mutant/lessons/"
if patch --batch --quiet --fuzz=0 -p3 -d "$base/mutant/lessons/01-interleaving" -i "$root/harness/01-interleaving/mutants/wrong_count.patch" &&
   tar -czf "$class/mutant.tar.gz" -C "$base/mutant" lessons; then
	ok "$(cd "$class" && echo *)"
else
	fail "the mutant wrong_count applies"; give_up
fi
grade_opts=(--lesson 1 --run-timeout 60)

step "grading/grade has --shard and merge"
if grading/grade --help 2>&1 | grep -q -- '--shard' && grading/grade merge --help >/dev/null 2>&1; then
	ok "grading/grade --shard K/N and grading/grade merge"
else
	fail "grading/grade has no --shard K/N or no merge subcommand yet (grading/grade --help)"
	give_up
fi

# ---------------------------------------------------------------- the shards and the merge
step "grading/slurm/submit.sh -n 2: a 2-task array, then the merge (afterok)"
out=$base/out
if ! submitted=$(submit_env grading/slurm/submit.sh -n 2 -t 10:00 "$class" "$out" "${grade_opts[@]}" 2>&1); then
	fail "submit.sh submitted both jobs" "$submitted"; give_up
fi
array=$(awk '$1 == "shards" { print $2 }' <<<"$submitted")
merge=$(awk '$1 == "merge" { print $2 }' <<<"$submitted")
case "$array$merge" in
''|*[!0-9]*) fail "submit.sh printed both job ids" "$submitted"; give_up ;;
esac
ok "array job $array, merge job $merge"

# The plain run, beside it (the machine lock keeps measurements apart).
step "the same class graded plainly (grading/grade), meanwhile"
env ATONCE_SLURM_TEST="$tag" grading/grade "$class" "${grade_opts[@]}" --out "$base/plain" >"$base/plain.log" 2>&1 </dev/null &
plain_pid=$!

step "waiting for the shards and the merge (at most 240 s)"
jobs_ended() { job_done "$array" "$merge"; }
waitfor 240 "array job $array and merge job $merge ended" "$ctld_pid" "$base/log/slurmctld.log" jobs_ended
for t in 0 1; do
	s=$(job_state "${array}_$t")
	if [ "$s" = COMPLETED ]; then
		ok "shard $((t + 1))/2 (job ${array}_$t) COMPLETED: $(head -n 1 "$out/logs/shard-${array}_$t.log" 2>/dev/null)"
	else
		fail "shard $((t + 1))/2 (job ${array}_$t) completed (state: ${s:-unknown})" "$(tail -n 15 "$out/logs/shard-${array}_$t.log" 2>/dev/null)"
	fi
done
s=$(job_state "$merge")
if [ "$s" = COMPLETED ]; then
	ok "merge (job $merge) COMPLETED"
else
	fail "merge (job $merge) completed (state: ${s:-unknown})" "$(tail -n 15 "$out/logs/merge-$merge.log" 2>/dev/null)"
fi
# What Slurm says of the jobs: each shard had the node to itself (2 CPUs,
# not shared), and the merge started after both ended.
"$py" - "$array" "$merge" >"$base/jobs.check" 2>&1 <<'PY'
import subprocess, sys
array, merge = sys.argv[1:]
def show(j):
    out = subprocess.run(['scontrol', '-o', 'show', 'job', j], capture_output=True, text=True).stdout
    return [dict(kv.split('=', 1) for kv in line.split() if '=' in kv) for line in out.splitlines() if line.strip()]
tasks, m = show(array), show(merge)
assert len(tasks) == 2 and len(m) == 1, ('jobs found', len(tasks), len(m))
hms = lambda t: t.split('T')[-1]
for t in sorted(tasks, key=lambda t: int(t['ArrayTaskId'])):
    assert t['OverSubscribe'] == 'NO', ('a shard shared its node', t['JobId'], t['OverSubscribe'])
    assert t['NumNodes'] == '1', ('nodes', t['JobId'], t['NumNodes'])
    print('task %s on %s, %s CPUs, not shared, %s-%s;' % (t['ArrayTaskId'], t['NodeList'], t['NumCPUs'], hms(t['StartTime']), hms(t['EndTime'])))
ends = max(t['EndTime'] for t in tasks)
assert m[0]['StartTime'] >= ends, ('the merge started before the shards ended', m[0]['StartTime'], ends)
print('merge %s-%s' % (hms(m[0]['StartTime']), hms(m[0]['EndTime'])))
PY
if [ $? -eq 0 ]; then
	ok "each shard had the node to itself and the merge waited for both: $(tr '\n' ' ' <"$base/jobs.check" | sed 's/ $//')"
else
	fail "what scontrol says of the jobs" "$(cat "$base/jobs.check")"
fi

step "waiting for the plain run (at most 180 s)"
plain_ended() { ! alive "$plain_pid"; }
if waitfor 180 "the plain grader ended" "" "$base/plain.log" plain_ended; then
	wait "$plain_pid"; code=$?
	plain_pid=
	if [ "$code" -eq 0 ]; then
		ok "plain run: $(grep -o '[0-9]* submission(s) in .*' "$base/plain.log")"
	else
		fail "the plain run exited with status $code" "$(tail -n 15 "$base/plain.log")"
	fi
fi

# ---------------------------------------------------------------- the same grades
step "the merged reports against the plain run's"
"$py" - "$out" "$base/plain" >"$base/compare.out" 2>&1 <<'PY'
import csv, json, os, sys
import xml.etree.ElementTree as ET
out, plain = sys.argv[1:]
merged = os.path.join(out, 'merged')
def rows(d):
    with open(os.path.join(d, 'grades.csv'), encoding='utf-8', newline='') as f:
        return {r['student']: r for r in csv.DictReader(f)}
def timing(col):
    return any(w in col.lower() for w in ('time', 'second', 'duration'))
m, p = rows(merged), rows(plain)
assert sorted(m) == sorted(p), ('students', sorted(m), sorted(p))
cols = [c for c in next(iter(p.values())) if not timing(c)]
assert [c for c in next(iter(m.values())) if not timing(c)] == cols, ('columns', list(next(iter(m.values()))), cols)
bad = [(s, c, m[s][c], p[s][c]) for s in sorted(p) for c in cols if m[s][c] != p[s][c]]
assert not bad, ('grades.csv differs (student, column, merged, plain)', bad)
# Every shard holds a part, no student twice, none missing.
seen = {}
for k in (1, 2):
    for s in rows(os.path.join(out, 'shard-%d' % k)):
        assert s not in seen, ('in two shards', s, seen.get(s), k)
        seen[s] = k
assert sorted(seen) == sorted(p), ('the shards hold', sorted(seen), sorted(p))
# Every test's verdict, student by student.
def verdicts(d, folder):
    r = json.load(open(os.path.join(d, 'students', folder, 'results.json'), encoding='utf-8'))
    return r['score'], [(t['name'], t['score'], t['max_score'], t['status']) for t in r['tests']]
tests = 0
for s in sorted(p):
    a, b = verdicts(merged, m[s]['folder']), verdicts(plain, p[s]['folder'])
    assert a == b, ('results.json differs', s, a, b)
    tests += len(b[1])
def cases(d):
    return sorted((c.get('classname', ''), c.get('name', ''), tuple(sorted(x.tag for x in c)))
                  for c in ET.parse(os.path.join(d, 'junit.xml')).getroot().iter('testcase'))
assert cases(merged) == cases(plain), 'junit.xml: different test cases or verdicts'
print('%d students (%s), %d test verdicts, the same; shards of %d and %d' % (
    len(p), ', '.join('%s %s/%s' % (s, p[s]['total'], p[s]['max']) for s in sorted(p)), tests,
    list(seen.values()).count(1), list(seen.values()).count(2)))
PY
if [ $? -eq 0 ]; then
	ok "$(tail -n 1 "$base/compare.out")"
else
	fail "the merged grades equal the plain run's" "$(cat "$base/compare.out")"
fi

step "stopping the cluster"
cleanup
if left=$(show_left); then
	ok "nothing left running (munged, slurmctld, slurmd, the jobs)"
else
	fail "nothing left running" "$left"
fi
step "the Slurm test took $(elapsed) s"
[ "$failed" -eq 0 ]
