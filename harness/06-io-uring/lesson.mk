# Lesson 06's manifest: the files the student writes (the grader takes only
# these), the library they need, and the whole run's time limit in seconds.
#
# HARNESS_LDFLAGS (the harness's programs only, not the demos) route the code
# under test's submissions through counters in uring_test.h, so the tests
# can count batches; every harness program of this lesson includes it.
STUDENT_FILES   := batch.c copy.c
LDLIBS_EXTRA    := $(shell pkg-config --libs liburing)
HARNESS_LDFLAGS := -Wl,--wrap=io_uring_submit,--wrap=io_uring_submit_and_wait \
                   -Wl,--wrap=io_uring_submit_and_wait_timeout \
                   -Wl,--wrap=io_uring_enter,--wrap=io_uring_enter2
RUN_TIMEOUT     := 120
