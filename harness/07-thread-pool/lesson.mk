# Lesson 07's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := pool.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
# The benchmark (harness/07-thread-pool/bench.c) runs beside GLib's GThreadPool.
BENCH_CFLAGS  := $(shell pkg-config --cflags glib-2.0 2>/dev/null)
BENCH_LDLIBS  := $(shell pkg-config --libs glib-2.0 2>/dev/null)
