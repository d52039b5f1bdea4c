#!/usr/bin/env bash
# Description: the autograder's own tests (called by `make test`). Grades a
# corpus of submissions for lessons 01 and 02 - the reference, the skeleton,
# a mutant, a compile error and hostile code (grading/tests/hostile/*) - and
# checks: full marks for the reference, zero for the skeleton's lesson 02,
# partial for the mutant, zero for every attack, nothing changed outside the
# sandbox, nothing left running, reports that parse, same scores twice.
# Prints one "ok"/"FAILED" line per check; exit 1 when any failed.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
tmp=$(mktemp -d /tmp/atonce-grade-test.XXXXXX)
chmod 755 "$tmp"
subs=$tmp/subs hostile=$tmp/hostile out1=$tmp/out1 out2=$tmp/out2
failed=0 t0=$(date +%s)
listener=
cleanup() { [ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

ok()   { printf '  ok      %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/          | /' | tail -n 15; return 0; }
check() { local what=$1; shift; if "$@" >"$tmp/check.out" 2>&1; then ok "$what"; else fail "$what" "$(cat "$tmp/check.out")"; fi; }

# What the attacks aim at must not change while grading (other lessons may be
# edited by their authors meanwhile: only lesson 02's folders count).
fingerprint() {
	find harness/02-threads lessons/02-threads solutions/02-threads -newer "$tmp/stamp" -print 2>/dev/null
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
for d in grading/tests/hostile/*/; do
	name=$(basename "$d")
	cp -r "$d" "$hostile/hostile_$name"
	find "$hostile/hostile_$name" -type f -exec sed -i -e "s|@ROOT@|$root|g" -e "s|@SUBS@|$hostile|g" -e "s|@PORT@|$port|g" {} +
done
(cd "$hostile" && python3 -c 'import shutil; shutil.make_archive("hostile_network", "zip", "hostile_network")' && rm -rf hostile_network)
# A loopback listener outside the sandbox: it must never hear from a submission.
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connected\n"); c.close()
' "$port" "$tmp/heard" &
listener=$!
touch "$tmp/stamp"

check "grading/grade --help" grading/grade --help

# ---------------------------------------------------------------- grade
printf '\ngrading the reference, the skeleton and a mutant (lessons 01 and 02)\n'
if grading/grade "$subs" --lesson 1 --lesson 2 --out "$out1" >"$tmp/grade1.log" 2>&1; then
	ok "grade ran to the end: $(grep -o '[0-9]* submission(s) in .*' "$tmp/grade1.log")"
else
	fail "grade ran to the end" "$(cat "$tmp/grade1.log")"
fi
printf '\ngrading %d hostile submissions beside the reference and the skeleton again (runs capped at 8 s)\n' "$(ls "$hostile" | wc -l)"
if grading/grade "$hostile" --lesson 1 --lesson 2 --out "$out2" --run-timeout 8 >"$tmp/grade2.log" 2>&1; then
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
            if (r["student"], k) not in seen and k not in ("student", "notes"):
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
for d in grading/tests/hostile/*/; do
	name=$(basename "$d")
	[ "$name" = broken_build ] && continue
	expect "hostile $name scores zero" "x == 0" "hostile_$name" 02-threads
done
check "the output flood left a short report" test "$(wc -c <"$out2/students/hostile_output_flood/feedback.txt")" -lt 400000
check "the forged results were noticed" grep -q 'written to by the code under test' "$out2/students/hostile_writes_harness/feedback.txt"
check "code calling what lesson code never needs is flagged for review (getenv, socket, kill)" sh -c "
	grep -q 'flagged for review: the code calls .*getenv' '$out2/students/hostile_writes_harness/feedback.txt' &&
	grep -q 'flagged for review: the code calls .*connect' '$out2/students/hostile_network/feedback.txt' &&
	grep -q 'flagged for review: the code calls .*kill' '$out2/students/hostile_kill_group/feedback.txt'"
check "... and the reference is not" sh -c "! grep -q 'flagged for review' '$out1/students/reference/feedback.txt'"
check "nothing in the course changed (harness, lessons, solutions)" test -z "$(fingerprint)" -a ! -e harness/02-threads/HACKED
check "the loopback listener outside was never reached" test ! -e "$tmp/heard"
check "no daemon left running" sh -c '! pgrep -x atonce-daemon'
check "no process of a sandbox uid left running" sh -c '! ps -eo uid= | awk "\$1 >= 61000 && \$1 < 62000" | grep -q .'

# ---------------------------------------------------------------- reports
check "every results.json has Gradescope's fields" python3 - "$out1" "$out2" <<'PY'
import json, os, sys
for s in sorted(os.path.join(o, "students", n) for o in sys.argv[1:] for n in os.listdir(os.path.join(o, "students"))):
    d = ""
    r = json.load(open(os.path.join(s, "results.json")))
    assert isinstance(r["score"], (int, float)), s
    assert isinstance(r["output"], str) and r["tests"], s
    for t in r["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}, (s, t)
        assert t["status"] in ("passed", "failed") and t["visibility"] == "visible", (s, t)
        assert 0 <= t["score"] <= max(t["max_score"], 0), (s, t)
    assert abs(sum(t["score"] for t in r["tests"]) - r["score"]) < 1e-9, s
PY
check "junit.xml loads with xml.etree, one testcase per student and test" python3 - "$out2" <<'PY'
import csv, json, os, sys
import xml.etree.ElementTree as ET
out = sys.argv[1]
cases = ET.parse(os.path.join(out, "junit.xml")).getroot().iter("testcase")
n = sum(1 for _ in cases)
want = sum(len(json.load(open(os.path.join(out, "students", s, "results.json")))["tests"])
           for s in os.listdir(os.path.join(out, "students")))
for s in os.listdir(os.path.join(out, "students")):
    ET.parse(os.path.join(out, "students", s, "junit.xml"))
assert n == want > 0, (n, want)
PY

# ---------------------------------------------------------------- again
same() {   # the reference and the skeleton: the same rows in both runs
	diff <(grep -E '^(reference|skeleton),' "$out1/grades.csv" | cut -d, -f1-6) \
	     <(grep -E '^(reference|skeleton),' "$out2/grades.csv" | cut -d, -f1-6)
}
check "grading again, beside hostile code, gives identical scores" same

t=$(( $(date +%s) - t0 ))
printf '\n%s\n' "grading tests: $failed failed, ${t}s"
[ "$failed" -eq 0 ]
