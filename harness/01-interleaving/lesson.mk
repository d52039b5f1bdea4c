# Lesson 01's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := green.c explore.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
# Calls beyond harness/mk/calls.txt that this lesson's code may make.
CALLS := getcontext makecontext swapcontext setcontext
