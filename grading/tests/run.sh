#!/usr/bin/env bash
# Description: the autograder's own tests (called by `make test`). Grades a
# corpus of submissions for lessons 01 and 02 - the reference, the skeleton,
# a mutant, a compile error and hostile code (grading/tests/hostile/*, each
# with its EXPECT file) - and checks: full marks for the reference, zero for
# the skeleton's lesson 02, partial for the mutant, what each attack must
# score, nothing changed outside the sandbox, nothing left running (no
# process of a grader uid, no grader cgroup), reports that parse, the same
# scores twice; then ids and archives no report format likes (invalid
# UTF-8, U+FFFF, formulas, 300,000 entries), a grader killed with -9 and
# --resume, two graders at once beside a foreign process of a grader uid,
# and the --unsafe path with its output folder. Prints one "ok"/"FAILED"
# line per check; exit 1 when any failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
tmp=$(mktemp -d /tmp/atonce-grade-test.XXXXXX)
chmod 755 "$tmp"
subs=$tmp/subs hostile=$tmp/hostile out1=$tmp/out1 out2=$tmp/out2
secret=$(mktemp /var/tmp/atonce-grade-test-secret.XXXXXX)
echo 'a secret a submission must never read' >"$secret"
failed=0 t0=$(date +%s)
# The run limit for hostile code (--run-timeout): long enough for the
# reference's lesson 02 measured beside others on a loaded machine, short
# enough that code which never ends costs seconds, not minutes.
RT=20
listener= foreign=
cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	[ -n "$foreign" ] && kill "$foreign" 2>/dev/null
	rm -rf "$tmp" "$secret"
}
trap cleanup EXIT

ok()   { printf '  ok      %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/          | /' | tail -n 15; return 0; }
check() { local what=$1; shift; if "$@" >"$tmp/check.out" 2>&1 </dev/null; then ok "$what"; else fail "$what" "$(cat "$tmp/check.out")"; fi; }

# The uid ranges and cgroups of the graders this script started (their logs
# say "slot N"): nothing of them may be left once they are done.
UID_FIRST=$((0x70000000)) SLOT_SIZE=$((0x10000))
slots_of() { grep -ho 'slot [0-9]*' "$@" | awk '{ print $2 }' | sort -u; }
left_of_slots() {   # left_of_slots LOG...: processes of those uids, cgroups of those slots
	local s lo hi
	for s in $(slots_of "$@"); do
		lo=$((UID_FIRST + s * SLOT_SIZE)) hi=$((UID_FIRST + (s + 1) * SLOT_SIZE))
		ps -eo pid=,uid=,comm= | awk -v lo="$lo" -v hi="$hi" -v f="${foreign:-0}" '$2 >= lo && $2 < hi && $1 != f { print "process:", $0 }'
		own_cgroups | while read -r d; do
			find "$d" -maxdepth 1 -type d -name "$(printf 'atonce-grade-s%04d' "$s")"
		done 2>/dev/null | sed 's/^/cgroup: /'
	done
}
# The cgroups this run's graders may have made theirs under: this shell's
# own cgroup in every hierarchy, and its ancestors up to the mount (a v2
# grader may use the nearest ancestor that delegates the memory
# controller). Not the whole tree: on a shared host, a grader of another
# run, in another cgroup, is none of this run's business.
own_cgroups() {
	python3 - <<'PY'
import os
mounts = {}
for line in open('/proc/self/mountinfo'):
    pre, _, post = line.partition(' - ')
    fstype, _, opts = post.split()[:3]
    f = pre.split()
    root, mp = f[3], f[4]
    if fstype == 'cgroup2':
        mounts[''] = (root, mp)
    elif fstype == 'cgroup':
        for c in opts.split(','):
            mounts.setdefault(c, (root, mp))
seen = set()
for line in open('/proc/self/cgroup'):
    _, ctls, rel = line.rstrip('\n').split(':', 2)
    key = ctls.split(',')[0].replace('name=', '') if ctls else ''
    if key not in mounts:
        continue
    root, mp = mounts[key]
    rel = os.path.relpath(rel, root) if rel.startswith(root) and root != '/' else rel.lstrip('/')
    d = os.path.normpath(os.path.join(mp, rel))
    while d not in seen:
        seen.add(d)
        print(d)
        if d == mp:
            break
        d = os.path.dirname(d)
PY
}
# A process the kernel is still tearing down (its cgroup was killed a
# moment ago) may show for a little while: look again for up to 10 s.
nothing_left() {
	local l i
	for i in $(seq 50); do
		l=$(left_of_slots "$@")
		[ -z "$l" ] && return 0
		sleep 0.2
	done
	echo "$l"
	return 1
}

# Every report of an output folder parses, and stays within what its format
# may hold: junit.xml is XML 1.0 (no character XML forbids, U+FFFE/U+FFFF
# included), results.json is JSON with Gradescope's fields, grades.csv has a
# row per student and no cell a spreadsheet would run as a formula.
reports_ok() {   # reports_ok OUT [MIN_STUDENTS [killed]]
	python3 - "$1" "${2:-1}" "${3:-}" <<'PY'
import csv, json, os, re, sys
import xml.etree.ElementTree as ET
out, least = sys.argv[1], int(sys.argv[2])
# A grader killed with -9 writes each student's reports, then the class's
# summary (grades.csv, junit.xml): killed between the two, the summary
# lacks the students finished in that last instant (--resume adds them).
killed = sys.argv[3] == 'killed'
bad_xml = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
def xml_ok(p):
    raw = open(p, 'rb').read()
    text = raw.decode('utf-8')                  # strict: valid UTF-8
    m = bad_xml.search(text)
    assert not m, (p, 'a character XML 1.0 forbids', hex(ord(m.group())))
    ET.fromstring(raw)
    return ET.fromstring(raw)
students = sorted(os.listdir(os.path.join(out, 'students')))
done = [s for s in students if os.path.exists(os.path.join(out, 'students', s, 'record.json'))]
assert len(done) >= least, ('students with reports', len(done), least)
cases = 0
for s in done:
    d = os.path.join(out, 'students', s)
    assert oct(os.stat(d).st_mode & 0o777) == '0o700', (d, oct(os.stat(d).st_mode))
    for f in os.listdir(d):
        assert os.stat(os.path.join(d, f)).st_mode & 0o077 == 0, (d, f, 'readable by others')
    r = json.loads(open(os.path.join(d, 'results.json'), 'rb').read().decode('utf-8'))
    assert isinstance(r['score'], (int, float)) and isinstance(r['output'], str) and r['tests'], s
    for t in r['tests']:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}, (s, t)
        assert t["status"] in ("passed", "failed") and t["visibility"] == "visible", (s, t)
        assert 0 <= t["score"] <= max(t["max_score"], 0), (s, t)
    assert abs(sum(t["score"] for t in r["tests"]) - r["score"]) < 1e-9, s
    xml_ok(os.path.join(d, 'junit.xml'))
    open(os.path.join(d, 'feedback.txt'), 'rb').read().decode('utf-8')
    cases += len(r['tests'])
root = xml_ok(os.path.join(out, 'junit.xml'))
n = sum(1 for _ in root.iter('testcase'))
rows = list(csv.DictReader(open(os.path.join(out, 'grades.csv'), encoding='utf-8', newline='')))
if killed:
    summed = sorted(r['folder'] for r in rows)
    assert summed and set(summed) <= set(done), ('grades.csv rows', summed, done)
    done = summed
    cases = sum(len(json.loads(open(os.path.join(out, 'students', f, 'results.json'), 'rb').read())['tests'])
                for f in done)
assert n == cases > 0, ('junit.xml testcases', n, cases)
assert len(rows) == len(done), ('grades.csv rows', len(rows), len(done))
for row in rows:
    for k, v in row.items():
        assert not (v[:1] in ('=', '+', '-', '@', '\t', '\r', '\n') and not re.fullmatch(r'[+-]?\d+(\.\d+)?', v)), \
            ('a cell a spreadsheet would run', k, v)
assert sorted(r['folder'] for r in rows) == done, ('folders', sorted(r['folder'] for r in rows), done)
assert oct(os.stat(out).st_mode & 0o777) == '0o700', oct(os.stat(out).st_mode)
PY
}

# What the attacks write into the course ("hacked" lines, a HACKED file) must
# be nowhere in it (its authors may edit it meanwhile: a timestamp proves
# nothing).
untouched() {
	! grep -rlx 'hacked' harness lessons solutions && test ! -e harness/02-threads/HACKED
}

# ---------------------------------------------------------------- corpus
mkdir -p "$subs/reference/lessons" "$subs/skeleton/harness/02-threads" "$tmp/mutant/lessons/02-threads"
cp -r solutions/01-interleaving solutions/02-threads "$subs/reference/lessons/"
cp -r lessons/01-interleaving lessons/02-threads "$subs/skeleton/"          # the other layout: NN-name/ at the top
printf 'Test(threads, overlap) { }\n' >"$subs/skeleton/harness/02-threads/test_threads.c"   # ignored
printf 'all:\n\ttrue\n' >"$subs/skeleton/Makefile"                                          # ignored
cp solutions/02-threads/threads.c "$tmp/mutant/lessons/02-threads/threads.c"                  # the reference...
patch --batch --quiet --fuzz=0 -p3 -d "$tmp/mutant/lessons/02-threads" -i "$PWD/harness/02-threads/mutants/serial_join.patch"   # ...made wrong
tar -czf "$subs/mutant.tar.gz" -C "$tmp/mutant" lessons                                     # an archive
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$hostile"
cp -r "$subs/reference" "$subs/skeleton" "$hostile/"
fill() {   # the placeholders of the hostile sources under $1
	find "$1" -type f -name '*.c' -exec sed -i \
		-e "/@RESOLVE@/{r $root/grading/tests/hostile/resolve.inc" -e 'd}' \
		-e "s|@ROOT@|$root|g" -e "s|@SUBS@|$hostile|g" -e "s|@PORT@|$port|g" \
		-e "s|@SECRET@|$secret|g" -e "s|@OUT@|$tmp/gs-out|g" \
		-e 's|@BYTES@|\xff\xfe\xc3\x28\xef\xbf\xbe\xef\xbf\xbf\x01\x1b[0m\x7f|g' {} +
}
for d in grading/tests/hostile/*/; do
	name=$(basename "$d")
	cp -r "$d" "$hostile/hostile_$name"
	fill "$hostile/hostile_$name"
done
(cd "$hostile" && python3 -c 'import shutil; shutil.make_archive("hostile_network", "zip", "hostile_network")' && rm -rf hostile_network)
# Archives no unpacker should follow: a link where threads.c should be, paths
# out of the folder, 100 MB of zeros nobody asked for; a hard link, a
# symbolic link and a device in a tar.gz.
python3 - "$hostile" <<'PY'
import io, os, stat, sys, tarfile, zipfile
d = sys.argv[1]
with zipfile.ZipFile(os.path.join(d, 'hostile_archive_zip.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
    link = zipfile.ZipInfo('lessons/02-threads/threads.c')
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(link, '/etc/shadow')
    z.writestr('../../escaped.c', 'int escaped;\n')
    z.writestr('/tmp/absolute.c', 'int absolute;\n')
    with z.open('zeros.bin', 'w', force_zip64=True) as f:
        for _ in range(100):
            f.write(bytes(1 << 20))
with tarfile.open(os.path.join(d, 'hostile_archive_tar.tar.gz'), 'w:gz') as t:
    for name, kind, target in (('lessons/02-threads/threads.c', tarfile.LNKTYPE, '/etc/shadow'),
                               ('02-threads/threads.c', tarfile.SYMTYPE, '/etc/passwd')):
        m = tarfile.TarInfo(name); m.type = kind; m.linkname = target; t.addfile(m)
    m = tarfile.TarInfo('lessons/02-threads/null'); m.type = tarfile.CHRTYPE; m.devmajor, m.devminor = 1, 3
    t.addfile(m)
    data = b'int escaped;\n'
    m = tarfile.TarInfo('../../escaped.c'); m.size = len(data); t.addfile(m, io.BytesIO(data))
PY
# A loopback listener outside the sandbox: it must never hear from a submission.
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connected\n"); c.close()
' "$port" "$tmp/heard" &
listener=$!

check "grading/grade --help" grading/grade --help
helpers() {   # the grader's text helpers, on what ids and output may hold
	python3 - <<'PY'
import importlib.machinery, importlib.util, os, re, sys
sys.dont_write_bytecode = True      # no grading/__pycache__
loader = importlib.machinery.SourceFileLoader('grade', 'grading/grade')
spec = importlib.util.spec_from_loader('grade', loader)
g = importlib.util.module_from_spec(spec)
loader.exec_module(g)
bad = os.fsdecode(b'bad\xff\xfe')
assert g.show(bad) == 'bad\\xff\\xfe' and g.show('u\uffff') == 'u\\uffff'
assert g.show('a\nb\t\x01\u202e') == 'a\\nb\\t\\x01\\u202e'
assert [g.csv_cell(x) for x in ('=1+1', '-3', '@SUM(A1)', '+x', 'ok', '\t=x')] == ["'=1+1", '-3', "'@SUM(A1)", "'+x", 'ok', "'\t=x"]
assert not re.search('[\x00-\x08\ufffe\uffff\ud800-\udfff]', g.xml_text('a\x00\uffff\ufffe\ud800' + bad))
assert [g.folder_name(x) for x in (bad, '..', '.x', '-rf', 'a/b', '', '@S', 'd~2')] == ['bad__', '_.', '_x', '_rf', 'a_b', '_', '_S', 'd~2']
g.utf8(bad).encode('utf-8')
PY
}
check "ids and output are shown, escaped and named safely (the grader's text helpers)" helpers

# part TITLE: a new part of the output, after the previous part's duration
part_t0=$(date +%s) part_name=''
part() {
	local now
	now=$(date +%s)
	[ -n "$part_name" ] && printf '  (%ss)\n' "$((now - part_t0))"
	part_t0=$now part_name=$1
	[ -n "$1" ] && printf '\n%s\n' "$1"
	return 0
}

# ---------------------------------------------------------------- grade
part 'grading the reference, the skeleton and a mutant (lessons 01 and 02)'
if grading/grade "$subs" --lesson 1 --lesson 2 --out "$out1" >"$tmp/grade1.log" 2>&1; then
	ok "grade ran to the end: $(grep -o '[0-9]* submission(s) in .*' "$tmp/grade1.log")"
else
	fail "grade ran to the end" "$(cat "$tmp/grade1.log")"
fi
part "$(printf 'grading %d hostile submissions beside the reference and the skeleton again (runs capped at %d s)' "$(ls "$hostile" | wc -l)" "$RT")"
if grading/grade "$hostile" --lesson 1 --lesson 2 --out "$out2" --run-timeout "$RT" >"$tmp/grade2.log" 2>&1; then
	ok "grade ran to the end: $(grep -o '[0-9]* submission(s) in .*' "$tmp/grade2.log")"
else
	fail "grade ran to the end" "$(cat "$tmp/grade2.log")"
fi

# Every cell of both grades.csv, once: "student column value" lines.
python3 - "$out1/grades.csv" "$out2/grades.csv" >"$tmp/scores" <<'PY'
import csv, sys
seen = set()
for f in sys.argv[1:]:
    for r in csv.DictReader(open(f)):
        for k, v in r.items():
            if (r["student"], k) not in seen and k not in ("student", "notes", "folder"):
                seen.add((r["student"], k)); print(r["student"], k, v)
PY
score() { awk -v s="$1" -v c="$2" '$1 == s && $2 == c { print $3 }' "$tmp/scores"; }
expect() {   # expect WHAT AWK-CONDITION-ON-x STUDENT COLUMN
	local v
	v=$(score "$3" "$4")
	if [ -n "$v" ] && awk -v x="$v" "BEGIN { exit !($2) }"; then
		ok "$1 ($4 = $v)"
	else
		fail "$1 ($3 $4 = '${v}', wanted $2)" "$(grep -h -A3 "$3" "$tmp/grade1.log" "$tmp/grade2.log" | head -8)"
	fi
}

full() {   # the reference gets every gradable point
	python3 - "$out1/grades.csv" <<'PY'
import csv, sys
r = [r for r in csv.DictReader(open(sys.argv[1])) if r["student"] == "reference"][0]
print(r); sys.exit(0 if float(r["total"]) == float(r["max"]) > 0 else 1)
PY
}
check "the reference solutions get full marks (skips excepted)" full
expect "the skeleton scores zero on lesson 02" "x == 0" skeleton 02-threads
expect "the skeleton scores below full on lesson 01" "x < 15" skeleton 01-interleaving
expect "the mutant serial_join (a .tar.gz) gets partial credit" "0 < x && x < 10" mutant 02-threads
expect "a submission that does not compile scores zero" "x == 0" hostile_broken_build 02-threads
check "... and its feedback quotes the compiler" grep -q 'error:' "$out2/students/hostile_broken_build/feedback.txt"
check "edited tests and Makefiles are ignored and listed" grep -q 'harness/02-threads/test_threads.c' "$out1/students/skeleton/feedback.txt"

part 'the attacks (grading/tests/hostile/*/EXPECT: what each must score and say)'
for d in grading/tests/hostile/*/; do
	name=$(basename "$d")
	[ "$name" = broken_build ] && continue
	fb=$out2/students/hostile_$name/feedback.txt
	rules='score 02-threads x == 0'
	[ -f "$d/EXPECT" ] && rules=$(grep -v '^#' "$d/EXPECT")
	while read -r kind arg; do
		case $kind in
		score) expect "hostile $name: ${arg#* }" "${arg#* }" "hostile_$name" "${arg%% *}" ;;
		not_gradable) expect "hostile $name: not gradable $arg" "$arg" "hostile_$name" not_gradable ;;
		feedback) check "hostile $name: the feedback says /$arg/" grep -qE -- "$arg" "$fb" ;;
		nofeedback) check "hostile $name: the feedback never says /$arg/" sh -c '! grep -qE -- "$1" "$2"' sh "$arg" "$fb" ;;
		esac
	done <<<"$rules"
done
expect "a zip with a link for threads.c, .. paths and 100 MB of zeros: nothing taken" "x == 0" hostile_archive_zip 02-threads
check "... its links and .. paths are reported, and nothing landed outside" sh -c "
	grep -q 'skipped ../../escaped.c' '$out2/students/hostile_archive_zip/feedback.txt' &&
	grep -q 'Not submitted' '$out2/students/hostile_archive_zip/feedback.txt' &&
	! find '$tmp' /var/tmp -maxdepth 3 -name escaped.c 2>/dev/null | grep -q ."
expect "a tar.gz with a hard link, a symbolic link and a device for the lesson's file: nothing taken" "x == 0" hostile_archive_tar 02-threads
ran() {   # ran NAME...: these attacks were built and run (not refused by the build)
	local n
	for n; do
		grep -q 'The tests said' "$out2/students/hostile_$n/feedback.txt" || { echo "hostile_$n did not run"; return 1; }
	done
}
check "the attacks that find libc's functions by address got past the allow-list and ran: the sandbox stopped them" \
	ran background fork_bomb kill_group network reads_files writes_harness looks_around sleeps_forever
check "the output flood left a short report" test "$(wc -c <"$out2/students/hostile_output_flood/feedback.txt")" -lt 400000
check "the forged results were noticed" grep -q 'written to by the code under test' "$out2/students/hostile_writes_harness/feedback.txt"
check "the reference is neither refused nor flagged for review" sh -c "! grep -qE 'flagged for review|lesson code may not' '$out1/students/reference/feedback.txt'"
check "nothing in the course changed (harness, lessons, solutions)" untouched
check "the loopback listener outside was never reached" test ! -e "$tmp/heard"
check "no daemon left running" sh -c '! pgrep -x atonce-daemon'
check "nothing of the graders' uids or cgroups is left" nothing_left "$tmp/grade1.log" "$tmp/grade2.log"
workdirs_gone() {   # no work folder left by a grader of this script (none kept)
	local d
	for d in /var/tmp/atonce-grade-s*; do
		[ -d "$d" ] && [ ! -e "$d/.kept" ] || continue
		for s in $(slots_of "$@"); do
			case $d in /var/tmp/atonce-grade-s$(printf %04d "$s")-*) echo "left: $d"; return 1 ;; esac
		done
	done
	return 0
}
check "the work folders are gone" workdirs_gone "$tmp/grade1.log" "$tmp/grade2.log"

# ---------------------------------------------------------------- time
# The bound on one submission's own time, README "Limits": per lesson,
# building <= 180 s and measuring <= 2 x the run limit + 30 s (every run,
# rerun and probe), even for code that ignores SIGTERM.
bound() {   # bound FOLDER...: their seconds within the bound for --run-timeout $RT
	python3 - "$RT" "$@" <<'PY'
import json, sys
rt = int(sys.argv[1])
for d in sys.argv[2:]:
    s = json.load(open(d + '/record.json'))['seconds']
    assert s['unpack'] <= 65, (d, s)
    assert all(v <= 185 for v in s['build'].values()), (d, s)
    assert all(v <= 2 * rt + 30 + 5 for v in s['measure'].values()), (d, s)
print(s)
PY
}
check "code that ignores SIGTERM and sleeps is measured within 2 x $RT + 30 s" bound "$out2/students/hostile_sleeps_forever"
check "... and code that buys skips (and reruns) within the same budget" bound "$out2/students/hostile_buys_skip"
check "... and so is every other submission" bound "$out2"/students/*

# ---------------------------------------------------------------- reports
check "the reports of the first run are complete and valid" reports_ok "$out1" 3
check "the reports beside hostile code are complete and valid" reports_ok "$out2" 20

same() {   # the reference and the skeleton: the same rows in both runs
	diff <(grep -E '^(reference|skeleton),' "$out1/grades.csv" | cut -d, -f1-6) \
	     <(grep -E '^(reference|skeleton),' "$out2/grades.csv" | cut -d, -f1-6)
}
check "grading again, beside hostile code, gives identical scores" same

# ---------------------------------------------------------------- side by side, shards
# Tests that need the CPUs to themselves are declared (EXCLUSIVE_TESTS) and
# run alone; the others run beside other students'. The same folder graded
# with --serial (every test alone) and as two shards graded at once, then
# merged, must give every test the same verdict.
part 'measured side by side or alone, in shards or not: the same verdicts'
check "every test that reaches the witness, a CPU/wall ratio or the machine judge is in its lesson's EXCLUSIVE_TESTS" \
	grading/tests/exclusive.py
guard() {   # a check that needs the machine alone, run in a shared run, fails saying so
	make -s --no-print-directory -f harness/mk/lesson.mk LESSON_NAME=02-threads IMPL=solution BUILD="$tmp/build" >/dev/null || return 1
	local o=$tmp/build/02-threads/solution
	ATONCE_SHARED_RUN=1 ATONCE_RESULTS="$tmp/guard.tsv" ATONCE_OUT="$o" NO_COLOR=1 timeout 60 "$o/run" --filter '*/parallel' >"$tmp/guard.out" 2>&1
	cat "$tmp/guard.tsv"
	grep -q '^parallel	FAIL	.*EXCLUSIVE_TESTS' "$tmp/guard.tsv" || return 1
	ATONCE_RESULTS="$tmp/guard.tsv" ATONCE_OUT="$o" NO_COLOR=1 timeout 60 "$o/run" --filter '*/parallel' >"$tmp/guard.out" 2>&1
	cat "$tmp/guard.tsv"
	grep -qE '^parallel	(PASS|SKIP)' "$tmp/guard.tsv"   # alone, it measures
}
check "... and one that is not fails, naming EXCLUSIVE_TESTS, when run beside others (ATONCE_SHARED_RUN=1)" guard
trial() {   # a trial (ATONCE_TRIAL_TESTS): the witness measures beside others, a wrong program fails in ~1 s
	make -s --no-print-directory -f harness/mk/lesson.mk LESSON_NAME=02-threads IMPL=mutant:serial_join \
		BUILD="$tmp/build" >/dev/null || return 1
	local impl o t0
	for impl in solution mutant-serial_join; do
		o=$tmp/build/02-threads/$impl
		t0=$SECONDS
		ATONCE_SHARED_RUN=1 ATONCE_TRIAL_TESTS='parallel' ATONCE_RESULTS="$tmp/trial.tsv" ATONCE_OUT="$o" \
			NO_COLOR=1 timeout 60 "$o/run" --filter '*/parallel' >"$tmp/trial.out" 2>&1
		echo "$impl: $(cat "$tmp/trial.tsv") ($((SECONDS - t0)) s)"
		# The reference passes, or (a machine too loaded for the trial)
		# fails saying it is measured again alone: never a skip, never
		# EXCLUSIVE_TESTS. The serial code fails, its sides never overlapping,
		# within the trial's second (not the witness's 5 s).
		if [ "$impl" = solution ]; then
			grep -qE '^parallel	(PASS|FAIL	.*again with the machine alone)' "$tmp/trial.tsv" || return 1
		else
			grep -q '^parallel	FAIL	.*never even overlapped' "$tmp/trial.tsv" && [ $((SECONDS - t0)) -lt 5 ] || return 1
		fi
	done
}
check "... and one in PASS_ANYWHERE measures in a trial beside others (ATONCE_TRIAL_TESTS): serial code fails it in about a second" trial
cmp=$tmp/cmp
grading/tests/mkclass.py "$cmp" --lesson 2 --reference 1 --skeleton 1 \
	--mutants one_cpu_for_all,unpinned,no_join,serial_join --hostile buys_skip,writes_harness >/dev/null
ncmp=$(ls "$cmp" | wc -l)
if grading/grade "$cmp" --lesson 2 --out "$tmp/ser" --serial >"$tmp/grades-ser.log" 2>&1; then
	ok "--serial ran to the end: $(grep -o '[0-9]* submission(s) in .*' "$tmp/grades-ser.log")"
else
	fail "--serial ran to the end" "$(cat "$tmp/grades-ser.log")"
fi
grading/grade "$cmp" --lesson 2 --out "$tmp/sh1" --shard 1/2 >"$tmp/grade-sh1.log" 2>&1 & s1=$!
grading/grade "$cmp" --lesson 2 --out "$tmp/sh2" --shard 2/2 >"$tmp/grade-sh2.log" 2>&1 & s2=$!
wait "$s1"; r1=$?
wait "$s2"; r2=$?
check "two shards graded at once ran to the end" sh -c "test $r1 = 0 -a $r2 = 0 || cat '$tmp/grade-sh1.log' '$tmp/grade-sh2.log'"
check "... side by side, with the exclusive tests alone (or one at a time, for want of a cpu controller, saying so)" \
	grep -qE 'students side by side|no cpu controller' "$tmp/grade-sh1.log"
check "grade merge joins them" grading/grade merge "$tmp/merged" "$tmp/sh1" "$tmp/sh2"
check "... into valid reports for all $ncmp students" reports_ok "$tmp/merged" "$ncmp"
check "every verdict is the one --serial gave (a test not gradable in either run, for others' load, left out)" \
	grading/tests/same_verdicts.py "$tmp/ser" "$tmp/merged" --ignore-not-gradable
refused() {   # refused WHAT ARGS...: grade merge says WHAT and writes nothing
	rm -rf "$tmp/m-refused"
	! grading/grade merge "$tmp/m-refused" "${@:2}" >"$tmp/merge.log" 2>&1 && grep -q "$1" "$tmp/merge.log" &&
	test ! -e "$tmp/m-refused" || { cat "$tmp/merge.log"; return 1; }
}
check "merge refuses a gap: a shard missing" refused 'gap: shard(s) 2 of 2 not given' "$tmp/sh1"
check "merge refuses an overlap: a shard given twice" refused 'overlap: shard 1/2 is given twice' "$tmp/sh1" "$tmp/sh1" "$tmp/sh2"
check "merge refuses shards of another folder" refused 'not shards of one grading' "$tmp/sh1" "$out1"
cp -a "$tmp/sh2" "$tmp/sh2-cut"
python3 - "$tmp/sh2-cut/shard.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d['complete'] = False; open(p, 'w').write(json.dumps(d))
PY
check "merge refuses a shard that did not finish (and says to --resume it)" refused 'did not finish: grade it again with --resume' "$tmp/sh1" "$tmp/sh2-cut"
rm -rf "$tmp/sh2-cut"
slices() {   # every submission in exactly one shard, the same on any machine; K/N checked
	python3 - <<'PY' && ! grading/grade "$tmp/cmp" --shard 3/2 --out "$tmp/x" >/dev/null 2>&1 && ! grading/grade "$tmp/cmp" --shard 0/2 --out "$tmp/x" >/dev/null 2>&1
import importlib.machinery, importlib.util, sys
sys.dont_write_bytecode = True
loader = importlib.machinery.SourceFileLoader('grade', 'grading/grade')
spec = importlib.util.spec_from_loader('grade', loader)
g = importlib.util.module_from_spec(spec)
loader.exec_module(g)
for n in range(1, 9):
    for total in range(0, 30):
        owners = [[k for k in range(1, n + 1) if g.in_shard(i, (k, n))] for i in range(total)]
        assert all(len(o) == 1 for o in owners), (n, total, owners)
        sizes = [sum(1 for o in owners if o == [k]) for k in range(1, n + 1)]
        assert max(sizes) - min(sizes) <= 1, (n, total, sizes)
assert g.parse_shard('2/8') == (2, 8)
PY
}
check "shards: every submission in exactly one, slices within one of each other; 3/2 and 0/2 refused" slices
check "nothing of the graders' uids or cgroups is left" nothing_left "$tmp/grades-ser.log" "$tmp/grade-sh1.log" "$tmp/grade-sh2.log"

# ---------------------------------------------------------------- nothing lost
# Ids no report likes, one id twice, an archive of 300,000 entries; the
# grader is killed (-9) after its first student, and --resume finishes.
part 'ids and archives no report format likes; killed with -9, then --resume'
weird=$tmp/weird outw=$tmp/outw
python3 - "$weird" "$root" "$hostile" <<'PY'
import os, shutil, struct, sys, zipfile, zlib
w, root, hostile = (os.fsencode(a) for a in sys.argv[1:])
ref = os.path.join(root, b'solutions/02-threads/threads.c')
skel = os.path.join(root, b'lessons/02-threads/threads.c')
broken = os.path.join(hostile, b'hostile_weird_build/lessons/02-threads/threads.c')
def folder(name, src=None):
    d = os.path.join(w, name, b'lessons', b'02-threads')
    os.makedirs(d)
    if src:
        shutil.copy(src, os.path.join(d, b'threads.c'))
def archive(name, src):
    with zipfile.ZipFile(os.fsdecode(os.path.join(w, name)), 'w') as z:
        z.write(os.fsdecode(src), 'lessons/02-threads/threads.c')
folder(b'=HYPERLINK("mailto:x@example.com?"&A1,"click")')  # a formula, quotes, a comma
archive(b'@SUM(1+1).zip', skel)                              # a formula, from an archive
folder(b'bad\xff\xfe\x80utf8', ref)                          # not UTF-8
folder(b'dup', broken)                                       # one id twice: a folder...
archive(b'dup.zip', skel)                                    # ...and an archive
folder(b'new\nline\ttab"quote')                              # control characters, a quote
folder('u\uffff\ufffe-nonchar'.encode())                     # U+FFFF, U+FFFE
# 300,000 empty entries and the lesson's file, written directly (zipfile
# takes a minute for that many), with zip64 end records.
n, local, central = 300000, bytearray(), bytearray()
def entry(name, data):
    off, crc = len(local), zlib.crc32(data)
    local.extend(struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0) + name + data)
    central.extend(struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(name), 0, 0, 0, 0, 0, off) + name)
for i in range(n):
    entry(b'junk/%06d' % i, b'')
entry(b'lessons/02-threads/threads.c', open(ref, 'rb').read())
off, size = len(local), len(central)
end = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, n + 1, n + 1, size, off)
end += struct.pack('<IIQI', 0x07064b50, 0, off + size, 1)
end += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff, size, off, 0)
open(os.path.join(w, b'many.zip'), 'wb').write(local + central + end)
PY
nweird=$(python3 -c 'import os, sys; print(len(os.listdir(sys.argv[1])))' "$weird")
grading/grade "$weird" --lesson 2 --out "$outw" --run-timeout "$RT" -j 2 >"$tmp/gradew1.log" 2>&1 &
gpid=$!
for _ in $(seq 1500); do
	ls "$outw"/students/*/record.json >/dev/null 2>&1 && break
	kill -0 "$gpid" 2>/dev/null || break
	sleep 0.2
done
kill -9 "$gpid" 2>/dev/null
wait "$gpid" 2>/dev/null
check "killed with -9 after its first student: the reports of those done are valid" reports_ok "$outw" 1 killed
if grading/grade "$weird" --lesson 2 --out "$outw" --run-timeout "$RT" --resume >"$tmp/gradew2.log" 2>&1; then
	ok "--resume ran to the end: $(grep -o '[0-9]* submission(s) in .*' "$tmp/gradew2.log")"
else
	fail "--resume ran to the end" "$(cat "$tmp/gradew2.log")"
fi
check "... grading only the students missing" grep -q 'already graded (--resume)' "$tmp/gradew2.log"
check "... and every student of the folder has valid reports ($nweird entries, one id twice)" reports_ok "$outw" "$nweird"
weird_ok() {
	python3 - "$outw" <<'PY'
import csv, json, os, sys
out = sys.argv[1]
rows = {r['student']: r for r in csv.DictReader(open(os.path.join(out, 'grades.csv'), encoding='utf-8', newline=''))}
print(sorted(rows))
want = {
    'bad\\xff\\xfe\\x80utf8': lambda r: float(r['02-threads']) > 0,         # the reference, id escaped
    '\'=HYPERLINK("mailto:x@example.com?"&A1,"click")': lambda r: r['02-threads'] == '0',
    '\'@SUM(1+1)': lambda r: r['02-threads'] == '0',
    'new\\nline\\ttab"quote': lambda r: True,
    'u\\uffff\\ufffe-nonchar': lambda r: True,
    'dup': lambda r: 'two submissions' in r['notes'],
    'dup~2': lambda r: 'two submissions' in r['notes'],
    'many': lambda r: r['02-threads'] == '0',
}
for k, ok in want.items():
    assert k in rows, ('missing row', k)
    assert ok(rows[k]), (k, rows[k])
fb = open(os.path.join(out, 'students', rows['many']['folder'], 'feedback.txt'), encoding='utf-8').read()
assert 'more than 20000 entries' in fb, fb[:500]
for r in rows.values():
    f = r['folder']
    assert f and '/' not in f and not f.startswith('.') and f.isprintable(), f
PY
}
check "ids are shown escaped (\\xff, \\n, \\uffff), formulas neutralised, both dup kept, 300,000 entries refused" weird_ok
check "nothing of the killed grader, nor of --resume, is left (uids, cgroups)" nothing_left "$tmp/gradew1.log" "$tmp/gradew2.log"

# ---------------------------------------------------------------- two at once
if [ "$(id -u)" = 0 ]; then
	part 'two graders at once, beside a process of a grader uid that is not theirs'
	pair=$tmp/pair
	mkdir -p "$pair"
	cp -r "$subs/reference" "$subs/skeleton" "$hostile/hostile_background" "$pair/"
	setpriv --reuid=$((UID_FIRST + 7)) --regid=$((UID_FIRST + 7)) --clear-groups sleep 900 &
	foreign=$!
	grading/grade "$pair" --lesson 2 --out "$tmp/pa" --run-timeout "$RT" >"$tmp/gradea.log" 2>&1 & a=$!
	grading/grade "$pair" --lesson 2 --out "$tmp/pb" --run-timeout "$RT" >"$tmp/gradeb.log" 2>&1 & b=$!
	wait "$a"; ra=$?
	wait "$b"; rb=$?
	check "both ran to the end" test "$ra" = 0 -a "$rb" = 0
	check "... each with its own uids, none of the range where a foreign process runs" sh -c "
		a=\$(grep -o 'slot [0-9]*' '$tmp/gradea.log'); b=\$(grep -o 'slot [0-9]*' '$tmp/gradeb.log')
		echo \"\$a / \$b\"; [ -n \"\$a\" ] && [ \"\$a\" != \"\$b\" ] && [ \"\$a\" != 'slot 0' ] && [ \"\$b\" != 'slot 0' ]"
	alone() {   # both give every student the score it got graded alone
		python3 - "$out1/grades.csv" "$out2/grades.csv" "$tmp/pa/grades.csv" "$tmp/pb/grades.csv" <<'PY'
import csv, sys
def col(f):
    return {r['student']: r['02-threads'] for r in csv.DictReader(open(f))}
one, two, a, b = (col(f) for f in sys.argv[1:])
want = {'reference': one['reference'], 'skeleton': one['skeleton'], 'hostile_background': two['hostile_background']}
print('alone', want, 'a', a, 'b', b)
assert a == want and b == want
PY
	}
	alone_or_say() { alone || { grep -h '^  [a-z]\|^grade:' "$tmp/gradea.log" "$tmp/gradeb.log"; return 1; }; }
	check "... and every student gets the score it got alone" alone_or_say
	check "the foreign process of a grader uid is still alive" kill -0 "$foreign"
	kill "$foreign" 2>/dev/null
	wait "$foreign" 2>/dev/null
	foreign=
	check "nothing of either grader's uids or cgroups is left" nothing_left "$tmp/gradea.log" "$tmp/gradeb.log"
fi

# ---------------------------------------------------------------- --unsafe
part 'the --unsafe path (Gradescope): an output folder made first, reports by rename'
plant=$tmp/plant
mkdir -p "$plant"
cp -r "$hostile/hostile_plants_results/lessons" "$plant/"
if grading/grade "$plant" --one student --lesson 2 --out "$tmp/gs-out" --unsafe --run-timeout "$RT" >"$tmp/grades.log" 2>&1; then
	ok "grade --unsafe --one ran to the end"
else
	fail "grade --unsafe --one ran to the end" "$(cat "$tmp/grades.log")"
fi
planted() {
	python3 - "$tmp/gs-out" <<'PY'
import json, os, sys
out = sys.argv[1]
r = json.load(open(os.path.join(out, 'students', 'student', 'results.json')))
print('score', r['score'], os.listdir(out), os.listdir(os.path.join(out, 'students', 'student')))
assert r['score'] == 0 and 'planted' not in r['output'], r['score']
assert not os.path.exists(os.path.join(out, 'PLANTED'))
assert not any(f.endswith('.tmp') for f in os.listdir(os.path.join(out, 'students', 'student')))
PY
}
check "... student code planted nothing: the real score, no file of its own" planted
check "... and its reports are valid" reports_ok "$tmp/gs-out" 1
mkdir -p "$tmp/made-by-someone" "$tmp/not-mine"
printf '{"score": 100}\n' >"$tmp/made-by-someone/results.json"
chown 65534 "$tmp/not-mine" 2>/dev/null
ln -s "$tmp/elsewhere" "$tmp/a-link"
refuses() {   # refuses OUT: the grader will not write there, before any build
	! grading/grade "$plant" --one student --lesson 2 --out "$1" --unsafe >"$tmp/refuse.log" 2>&1 &&
	grep -q 'refusing' "$tmp/refuse.log" && ! grep -q 'submission(s)' "$tmp/refuse.log" ||
	{ cat "$tmp/refuse.log"; return 1; }
}
check "an output folder made by someone else is refused" refuses "$tmp/made-by-someone"
[ "$(id -u)" = 0 ] && check "an output folder owned by another uid is refused" refuses "$tmp/not-mine"
check "an output folder that is a link is refused" refuses "$tmp/a-link"
check "nothing of the --unsafe grader's uids or cgroups is left" nothing_left "$tmp/grades.log"

part ''
t=$(( $(date +%s) - t0 ))
printf '\n%s\n' "grading tests: $failed failed, ${t}s"
[ "$failed" -eq 0 ]
