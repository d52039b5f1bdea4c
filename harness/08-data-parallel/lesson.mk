# Lesson 08's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
# The benchmark compares with OpenMP's `parallel for reduction`.
STUDENT_FILES := chunks.c
LDLIBS_EXTRA  := -fopenmp
RUN_TIMEOUT   := 150
BENCH_CFLAGS  := -fopenmp
BENCH_LDLIBS  := -fopenmp
# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  := racy_counter
# Tests that need the CPUs to themselves (the witness, CPU/wall, the machine
# judge; the balance of skewed work, which depends on who got a CPU):
# the grader runs them alone, the others beside other students' runs.
EXCLUSIVE_TESTS := parallel speedup dynamic_balance
# Of those, the ones whose pass no load can fake (the witness completed
# inside map(), and CPU time inside map() outran the wall clock 1.5 to 1):
# the grader tries them beside other students' runs first and keeps a pass.
PASS_ANYWHERE   := parallel
