# Lesson 05's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := server.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
