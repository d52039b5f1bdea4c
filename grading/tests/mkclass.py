#!/usr/bin/env python3
"""mkclass.py - a folder of submissions made from the course itself, for
the grader's tests and timings.

  grading/tests/mkclass.py OUT [--lesson N]... [--reference K] [--skeleton K]
                           [--mutants all|NAME,...] [--mixed K]
                           [--hostile all|NAME,...] [--distinct]

--reference K / --skeleton K: K students holding every chosen lesson's
reference (solutions/) or skeleton (lessons/) files. --mutants: one student
per mutant of the chosen lessons (harness/NN-name/mutants/NAME.patch applied
to the reference; NAME or NN-name:NAME picks some), holding that lesson only.
--mixed K: K students each holding, for every chosen lesson, one of its
mutants (student i takes the lesson's mutant i, round the list): a class
whose work is partly wrong everywhere. --hostile: grading/tests/hostile/NAME/ (lesson 02), placeholders filled with
harmless values (no listener on the port, a secret that does not exist):
good for comparing verdicts, not for the sandbox checks of run.sh. --distinct
appends a comment naming the student to every file, so that no two students
hand in the same bytes (a real class). Student folders are named
reference-01, skeleton-01, mutant-02-threads-serial_join, hostile-NAME.
"""
import argparse
import glob
import os
import re
import shutil
import socket
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


def lessons_of(wanted):
	names = sorted(os.path.basename(d) for d in glob.glob(os.path.join(ROOT, 'harness', '[0-9][0-9]-*'))
		       if os.path.exists(os.path.join(d, 'lesson.mk')))
	if not wanted:
		return names
	return [n for n in names if any(w == n or (w.isdigit() and int(w) == int(n[:2])) for w in wanted)]


def files_of(lesson):
	mk = open(os.path.join(ROOT, 'harness', lesson, 'lesson.mk')).read()
	return re.search(r'^STUDENT_FILES\s*:?=\s*(.*)$', mk, re.M).group(1).split()


def put(student_dir, lesson, src_dir, files, tag):
	d = os.path.join(student_dir, 'lessons', lesson)
	os.makedirs(d, exist_ok=True)
	for f in files:
		shutil.copyfile(os.path.join(src_dir, f), os.path.join(d, f))
		if tag:
			with open(os.path.join(d, f), 'a') as fh:
				fh.write('\n/* %s */\n' % tag)


def mutant(out, lesson, name, distinct, student=None):
	student = student or os.path.join(out, 'mutant-%s-%s' % (lesson, name))
	put(student, lesson, os.path.join(ROOT, 'solutions', lesson), files_of(lesson), None)
	d = os.path.join(student, 'lessons', lesson)
	patch = os.path.join(ROOT, 'harness', lesson, 'mutants', name + '.patch')
	r = subprocess.run(['patch', '--batch', '--quiet', '--fuzz=0', '--no-backup-if-mismatch', '-p3', '-d', d, '-i', patch],
			   capture_output=True, text=True)
	if r.returncode != 0:
		shutil.rmtree(d)
		print('mkclass: %s does not apply: %s' % (patch, r.stdout + r.stderr), file=sys.stderr)
		return
	if distinct:
		for f in files_of(lesson):
			with open(os.path.join(d, f), 'a') as fh:
				fh.write('\n/* %s */\n' % os.path.basename(student))


def hostile(out, name):
	src = os.path.join(ROOT, 'grading', 'tests', 'hostile', name)
	dst = os.path.join(out, 'hostile-' + name)
	shutil.copytree(src, dst)
	s = socket.socket()
	s.bind(('127.0.0.1', 0))
	port = str(s.getsockname()[1])
	s.close()                      # nobody listens there
	resolve = open(os.path.join(ROOT, 'grading', 'tests', 'hostile', 'resolve.inc')).read()
	values = {'@ROOT@': ROOT, '@SUBS@': out, '@PORT@': port, '@SECRET@': '/nonexistent/secret',
		  '@OUT@': '/nonexistent/out', '@BYTES@': '\udcff\udcfe\x01\uffff'}
	for p in glob.glob(os.path.join(dst, '**', '*.c'), recursive=True):
		text = open(p, encoding='utf-8', errors='surrogateescape').read()
		text = re.sub(r'^.*@RESOLVE@.*$', lambda m: resolve.rstrip('\n'), text, flags=re.M)
		for k, v in values.items():
			text = text.replace(k, v)
		open(p, 'w', encoding='utf-8', errors='surrogateescape').write(text)


def main():
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('out')
	ap.add_argument('--lesson', '-l', action='append', default=[])
	ap.add_argument('--reference', type=int, default=0)
	ap.add_argument('--skeleton', type=int, default=0)
	ap.add_argument('--mutants', default='')
	ap.add_argument('--mixed', type=int, default=0)
	ap.add_argument('--hostile', default='')
	ap.add_argument('--distinct', action='store_true')
	a = ap.parse_args()
	lessons = lessons_of(a.lesson)
	os.makedirs(a.out, exist_ok=True)
	for kind, n, root in (('reference', a.reference, 'solutions'), ('skeleton', a.skeleton, 'lessons')):
		for i in range(1, n + 1):
			student = os.path.join(a.out, '%s-%02d' % (kind, i))
			for l in lessons:
				put(student, l, os.path.join(ROOT, root, l), files_of(l), student if a.distinct else None)
	if a.mutants:
		want = a.mutants.split(',')
		for l in lessons:
			for p in sorted(glob.glob(os.path.join(ROOT, 'harness', l, 'mutants', '*.patch'))):
				name = os.path.basename(p)[:-len('.patch')]
				if 'all' in want or name in want or '%s:%s' % (l, name) in want:
					mutant(a.out, l, name, a.distinct)
	for i in range(a.mixed):
		student = os.path.join(a.out, 'mixed-%02d' % (i + 1))
		for l in lessons:
			names = sorted(os.path.basename(p)[:-len('.patch')]
				       for p in glob.glob(os.path.join(ROOT, 'harness', l, 'mutants', '*.patch')))
			if names:
				mutant(a.out, l, names[i % len(names)], a.distinct, student)
	if a.hostile:
		want = a.hostile.split(',')
		for d in sorted(glob.glob(os.path.join(ROOT, 'grading', 'tests', 'hostile', '*', ''))):
			name = os.path.basename(os.path.dirname(d))
			if 'all' in want or name in want:
				hostile(a.out, name)
	print(len(os.listdir(a.out)))


if __name__ == '__main__':
	main()
