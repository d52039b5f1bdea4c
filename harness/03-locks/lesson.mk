# Lesson 03's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := bank.c bbuf.c biglock.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 180
# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  := lost_wakeup read_after_unlock no_lock check_then_lock total_one_at_a_time read_before_lock
# The bank's tests hold a thread of the code under test before its k-th
# lock (harness/lib/at_lockprobe.h): a look-then-act race then shows on
# every run, not on some.
HARNESS_LDFLAGS := -Wl,--wrap=pthread_mutex_lock -Wl,--wrap=pthread_mutex_trylock
# Tests that need the CPUs to themselves (the witness, CPU/wall, the machine
# judge; the crowds that race transfers on every CPU at once):
# the grader runs them alone, the others beside other students' runs.
EXCLUSIVE_TESTS := no_lost_update never_overdrawn big_not_parallel fine_parallel
# Of those, the ones whose pass no load can fake (the witness completed;
# under the big lock, the second task never started while the first played):
# the grader tries them beside other students' runs first and keeps a pass.
PASS_ANYWHERE   := big_not_parallel fine_parallel
