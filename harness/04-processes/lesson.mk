# Lesson 04's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := procs.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
# Calls beyond harness/mk/calls.txt that this lesson's code may make.
CALLS := fork vfork waitpid wait pipe pipe2 read write close dup dup2 getpid getppid \
         sigemptyset sigaddset sigfillset sigismember sigprocmask
# A child's _exit() goes through the test (test_procs.c), which can make a
# child crash right after it has sent its result.
HARNESS_LDFLAGS := -Wl,--wrap=_exit
RACY_MUTANTS  := no_eintr_retry
# Tests that need the CPUs to themselves (the witness, CPU/wall, the machine
# judge): the grader runs them alone, the others beside other students'.
EXCLUSIVE_TESTS := parallel
# Of those, the ones whose pass no load can fake (the witness completed
# between two children): the grader tries them beside other students' runs
# first and keeps a pass.
PASS_ANYWHERE   := parallel
