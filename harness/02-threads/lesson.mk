# Lesson 02's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := threads.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  := no_join loop_variable
# Tests that need the CPUs to themselves (the witness, CPU/wall, the machine
# judge): the grader runs them alone, the others beside other students'.
EXCLUSIVE_TESTS := parallel pinned_not_parallel
# Of those, the ones whose pass no load can fake (the witness completed; the
# two threads confined to one CPU by their masks): the grader tries them
# beside other students' runs first and keeps a pass.
PASS_ANYWHERE   := parallel pinned_not_parallel
