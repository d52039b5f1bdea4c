#!/usr/bin/env python3
"""same_verdicts.py - two gradings of one folder gave every test the same
verdict.

  grading/tests/same_verdicts.py OUT_A OUT_B [--ignore-not-gradable]

Compares, student by student (by submission, record.json's key), lesson by
lesson and test by test, the verdict (passed / failed / skipped) and the
points. Prints every difference, with what each run said, and exits 1 when
there is one (or when a student is in one output only). With
--ignore-not-gradable, a test "not gradable on this machine" in either run
(skipped: the machine was busy with others' work, which the grader's probe
confirmed) is left out rather than counted as a difference.
"""
import json
import os
import sys


def verdicts(out):
	got = {}
	d = os.path.join(out, 'students')
	for f in sorted(os.listdir(d)):
		try:
			rec = json.load(open(os.path.join(d, f, 'record.json'), encoding='utf-8'))
		except (OSError, ValueError):
			continue
		for suite in rec['suites']:
			for test, word, why, _ in suite['cases']:
				got[(rec['key'], rec['id'], suite['lesson'], test)] = (word, why)
		got[(rec['key'], rec['id'], 'scores', '')] = (json.dumps(rec['scores'], sort_keys=True), '')
	return got


def main():
	args = [a for a in sys.argv[1:] if not a.startswith('--')]
	lenient = '--ignore-not-gradable' in sys.argv
	a, b = verdicts(args[0]), verdicts(args[1])
	diffs, skipped = [], 0
	for k in sorted(set(a) | set(b)):
		va, vb = a.get(k), b.get(k)
		if va is None or vb is None:
			diffs.append('%s %s %s: only in %s' % (k[1], k[2], k[3], args[0] if vb is None else args[1]))
			continue
		if lenient and 'skipped' in (va[0], vb[0]):
			skipped += 1
			continue
		if va[0] != vb[0] and not (lenient and k[2] == 'scores'):
			diffs.append('%s %s %s: %s (%s) / %s (%s)' % (k[1], k[2], k[3], va[0], va[1][:200], vb[0], vb[1][:200]))
	n_tests = sum(1 for k in a if k[2] != 'scores')
	print('%d verdicts compared (%d students), %d differ%s' % (
		n_tests, sum(1 for k in a if k[2] == 'scores'), len(diffs),
		', %d left out (not gradable in one run)' % skipped if lenient else ''))
	for d in diffs:
		print('  ' + d)
	return 1 if diffs else 0


if __name__ == '__main__':
	sys.exit(main())
