# Lesson 06's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
#
# -luring is written out (it is what `pkg-config --libs liburing` says)
# because the project's tests read this line as text to build the demos.
# The --wrap flags (on their own line: the demos do not get them) route the
# code under test's submissions through counters in uring_test.h, so the
# tests can count batches; every program linked with them includes it.
STUDENT_FILES := batch.c copy.c
LDLIBS_EXTRA  := -luring
LDLIBS_EXTRA  += -Wl,--wrap=io_uring_submit,--wrap=io_uring_submit_and_wait
LDLIBS_EXTRA  += -Wl,--wrap=io_uring_submit_and_wait_timeout
LDLIBS_EXTRA  += -Wl,--wrap=io_uring_enter,--wrap=io_uring_enter2
RUN_TIMEOUT   := 120
