# Lesson 03's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := bank.c bbuf.c biglock.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 180
# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  := lost_wakeup read_after_unlock
