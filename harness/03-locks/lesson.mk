# Lesson 03's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := bank.c bbuf.c biglock.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 180
