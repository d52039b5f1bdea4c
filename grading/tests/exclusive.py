#!/usr/bin/env python3
"""exclusive.py - every test that can need the CPUs to itself is declared so.

The grader runs a lesson's tests in two parts: those named in EXCLUSIVE_TESTS
(harness/NN-name/lesson.mk) alone, under its machine lock, and the others
beside other students' runs. A test that measures simultaneity (the ping-pong
witness, a CPU/wall ratio) or judges the machine must be in that list, or
other students' load would decide its verdict. At run time such a check
fails when it runs in a shared run (at_need_machine() in harness/lib); this
script finds the same tests without running anything: for each lesson, every
Test() whose code reaches one of those checks - through its own file's
functions, the lesson's headers and harness/lib, by call or by naming a
function it hands on - must be in the list, and every name in the list must
be a test. PASS_ANYWHERE, the ones the grader tries beside others first
(keeping only a pass), must be names of the list.

  grading/tests/exclusive.py [--list]

--list prints, per lesson, the tests that reach such a check and those
declared beyond them (a choice the lesson made: e.g. a balance that depends
on who got a CPU). Exit 1 when a lesson's list is wrong.
"""
import glob
import os
import re
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
# What needs the machine alone (harness/lib/at_cpu.h, at_witness.h).
NEEDS_MACHINE = {'at_need_machine', 'at_pingpong_init', 'at_pingpong_verdict', 'at_judge_machine',
		 'at_measure_ratio', 'at_calibrate_ratio', 'at_parallel_by_ratio'}
_WORD = re.compile(r'\b[A-Za-z_]\w*\b')
_FUNC_HEAD = re.compile(r'\b([A-Za-z_]\w*)\s*\((?:[^()]|\([^()]*\))*\)\s*(?:__attribute__\s*\(\(.*\)\)\s*)?$', re.S)
_TEST_HEAD = re.compile(r'\bTest\s*\(\s*\w+\s*,\s*(\w+)\b')


def strip(text):
	"""C text with comments, strings and character constants blanked (so a
	brace or a name in them counts for nothing); line breaks kept."""
	out, i, n = [], 0, len(text)
	while i < n:
		c = text[i]
		if text.startswith('/*', i):
			j = text.find('*/', i + 2)
			j = n if j < 0 else j + 2
			out.append(re.sub(r'[^\n]', ' ', text[i:j]))
			i = j
		elif text.startswith('//', i):
			j = text.find('\n', i)
			j = n if j < 0 else j
			out.append(' ' * (j - i))
			i = j
		elif c in '"\'':
			j = i + 1
			while j < n and text[j] != c:
				j += 2 if text[j] == '\\' else 1
			out.append(c + ' ' * (min(j, n) - i - 1) + c)
			i = j + 1
		else:
			out.append(c)
			i += 1
	return ''.join(out)


def definitions(path):
	"""{name: body text} of the file's functions and function-like macros,
	and {test name: body text} of its Test()s."""
	text = strip(open(path, encoding='utf-8', errors='replace').read())
	funcs, tests = {}, {}
	# Function-like macros (with their continuation lines).
	for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+(\w+)\((?:[^\n]*\\\n)*[^\n]*', text, re.M):
		funcs[m.group(1)] = m.group(0)
	text = re.sub(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.M)
	depth, start, head_from = 0, 0, 0
	for i, c in enumerate(text):
		if c == '{':
			if depth == 0:
				start, head = i, text[head_from:i]
			depth += 1
		elif c == '}':
			depth -= 1
			if depth == 0:
				body = text[start:i + 1]
				t = _TEST_HEAD.search(head)
				f = _FUNC_HEAD.search(head)
				if t:
					tests[t.group(1)] = body
				elif f and '=' not in head.rsplit(')', 1)[-1]:
					funcs[f.group(1)] = funcs.get(f.group(1), '') + body
				head_from = i + 1
		elif c == ';' and depth == 0:
			head_from = i + 1
	return funcs, tests


def reaching(funcs):
	"""The functions whose code reaches a check that needs the machine."""
	words = {name: set(_WORD.findall(body)) for name, body in funcs.items()}
	found = {name for name, w in words.items() if w & NEEDS_MACHINE}
	grew = True
	while grew:
		grew = False
		for name, w in words.items():
			if name not in found and w & found:
				found.add(name)
				grew = True
	return found | NEEDS_MACHINE


def lesson_var(lesson, var):
	mk = open(os.path.join(ROOT, 'harness', lesson, 'lesson.mk')).read()
	m = re.search(r'^%s\s*:?=\s*((?:.*\\\n)*.*)$' % var, mk, re.M)
	return m.group(1).replace('\\\n', ' ').split() if m else []


def main():
	show = '--list' in sys.argv[1:]
	lib = {}
	for p in sorted(glob.glob(os.path.join(ROOT, 'harness', 'lib', '*.c'))):
		lib.update(definitions(p)[0])
	bad = 0
	for hdir in sorted(glob.glob(os.path.join(ROOT, 'harness', '[0-9][0-9]-*'))):
		lesson = os.path.basename(hdir)
		if not os.path.exists(os.path.join(hdir, 'lesson.mk')):
			continue
		funcs, tests = dict(lib), {}
		for p in sorted(glob.glob(os.path.join(hdir, '*.h')) + glob.glob(os.path.join(hdir, 'test_*.c'))):
			f, t = definitions(p)
			funcs.update(f)
			tests.update(t)
		reach = reaching(funcs)
		need = sorted(t for t, body in tests.items() if set(_WORD.findall(body)) & reach)
		declared = lesson_var(lesson, 'EXCLUSIVE_TESTS')
		missing = [t for t in need if t not in declared]
		unknown = [t for t in declared if t not in tests]
		if show:
			extra = [t for t in declared if t not in need and t in tests]
			print('%-20s needs the machine alone: %s%s' % (lesson, ' '.join(need) or '-',
				  ('; declared beyond those: ' + ' '.join(extra)) if extra else ''))
		if missing:
			bad = 1
			print('%s: test(s) %s reach a check that needs the CPUs to itself (%s) but are not in '
			      'EXCLUSIVE_TESTS in harness/%s/lesson.mk: the grader would run them beside other '
			      'students\' runs' % (lesson, ' '.join(missing), ', '.join(sorted(NEEDS_MACHINE)), lesson))
		if unknown:
			bad = 1
			print('%s: EXCLUSIVE_TESTS in harness/%s/lesson.mk names %s, which no test_*.c defines'
			      % (lesson, lesson, ' '.join(unknown)))
		loose = [t for t in lesson_var(lesson, 'PASS_ANYWHERE') if t not in declared]
		if loose:
			bad = 1
			print('%s: PASS_ANYWHERE in harness/%s/lesson.mk names %s, not in EXCLUSIVE_TESTS: only a test '
			      'that needs the machine alone is tried beside others first' % (lesson, lesson, ' '.join(loose)))
		if not tests:
			bad = 1
			print('%s: no Test() found in harness/%s/test_*.c (is the parser lost?)' % (lesson, lesson))
	return bad


if __name__ == '__main__':
	sys.exit(main())
