# atonce - a graded course in C on concurrency and parallelism.
#
#   make check LESSON=1      build lesson 01 and run its tests on your code
#   make test                the project's own test suite
#   make help                everything else
#
# GNU make. Dependencies install themselves (as root) or are named with the
# exact command to run.

.DEFAULT_GOAL := help
SHELL := /bin/bash

LESSON ?=
IMPL   ?= student
BUILD  ?= build
export BUILD V

include harness/mk/common.mk

help:
	@echo 'atonce: concurrency and parallelism in C, ten graded lessons.'
	@echo
	@echo '  make check LESSON=n        build lesson n and run its tests on your code (lessons/NN-*/)'
	@echo '  make check                 every lesson, then a progress table'
	@echo '      IMPL=solution          ... on the reference solution instead'
	@echo '      IMPL=mutant:NAME       ... on a deliberately wrong solution (harness/NN-*/mutants.tsv)'
	@echo '  make watch LESSON=n        check again whenever a file of lesson n changes'
	@echo '  make reset LESSON=n        put lesson n'\''s skeleton back (your files are saved in lessons/NN-*/saved/)'
	@echo '  make doctor                what this machine offers: usable CPUs and why, io_uring, sanitizers, tools'
	@echo '  make test                  the project'\''s own tests (harness, skeletons, solutions, mutants, chapters)'
	@echo '  make diagrams [LESSON=n]   draw real-run timelines and render lessons/*/diagrams/*.dot to SVG'
	@echo '  make slides                build one offline HTML deck per lesson into $(BUILD)/slides/'
	@echo '  make slides-pdf            print each deck to $(BUILD)/slides-pdf/NN-name.pdf, a page a slide (headless Chromium)'
	@echo '  make bench LESSON=n        benchmarks beside real peers (lessons that have them)'
	@echo '  make grade SUBMISSIONS=dir [LESSON=n]   the instructor'\''s sandboxed autograder (grading/README.md)'
	@echo '  make student-repo DEST=dir [FROM=commit]   the course for students: no solutions, mutants nor grader (a git repo)'
	@echo '  make audit [LESSON=n] [ROUNDS=3]        run reference and mutants ROUNDS times: are the verdicts deterministic?'
	@echo '  make clean                 remove $(BUILD)/'
	@echo
	@echo '  V=1 shows full compiler command lines.'

check:
	@harness/tools/check.sh '$(LESSON)' '$(IMPL)'

test:
	@harness/tools/project-tests.sh

diagrams:
	@harness/tools/deps.sh docs
	@harness/tools/diagrams.sh '$(LESSON)'

slides:
	@harness/tools/deps.sh docs slides
	@harness/tools/slides.sh

slides-pdf:
	@harness/tools/browser.sh pdf

watch:
	@harness/tools/watch.sh '$(LESSON)' '$(IMPL)'

reset:
	@harness/tools/reset.sh '$(LESSON)'

doctor:
	@harness/tools/doctor.sh

bench:
	@harness/tools/bench.sh '$(LESSON)' '$(IMPL)'

audit:
	@harness/tools/audit.sh '$(LESSON)' '$(ROUNDS)'

# The instructor's autograder: every submission in SUBMISSIONS built and
# tested in a sandbox; reports in $(BUILD)/grade/ (grading/README.md).
grade:
	@if [ -z '$(SUBMISSIONS)' ]; then \
		echo 'usage: make grade SUBMISSIONS=dir [LESSON=n]   (see grading/README.md)' >&2; exit 2; fi
	@harness/tools/deps.sh build grade
	@grading/grade '$(SUBMISSIONS)' $(if $(LESSON),--lesson '$(LESSON)') --out '$(BUILD)/grade' $(GRADE_ARGS)

# The students' repository (a GitHub Classroom template): the course less
# what reveals a reference; harness/tools/student-repo.sh says what and why.
student-repo:
	@if [ -z '$(DEST)' ]; then \
		echo 'usage: make student-repo DEST=dir [FROM=commit]   (harness/tools/student-repo.sh --help)' >&2; exit 2; fi
	@harness/tools/student-repo.sh '$(DEST)' $(if $(FROM),--from '$(FROM)')

clean:
	rm -rf $(BUILD)

.PHONY: help check test diagrams slides slides-pdf watch reset doctor bench audit grade student-repo clean
