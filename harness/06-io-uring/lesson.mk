# Lesson 06's manifest: the files the student writes (the grader takes only
# these), the library they need, and the whole run's time limit in seconds.
#
# No link-time wrappers here: what the code under test hands the kernel is
# seen by the kernel's own accounting, under a seccomp supervisor
# (harness/06-io-uring/uring_guard.h), whatever liburing call made it.
STUDENT_FILES   := batch.c copy.c
LDLIBS_EXTRA    := $(shell pkg-config --libs liburing)
RUN_TIMEOUT     := 120
# Calls beyond harness/mk/calls.txt that this lesson's code may make:
# liburing's functions (most of liburing is inline), and the file calls
# a copy needs. (Reads that bypass the ring fail at run time, not here:
# the guard refuses them.)
CALLS := io_uring_queue_init io_uring_queue_init_params io_uring_queue_exit io_uring_submit \
         io_uring_submit_and_wait io_uring_submit_and_wait_timeout io_uring_wait_cqe_timeout \
         io_uring_wait_cqes io_uring_get_sqe io_uring_peek_batch_cqe io_uring_get_probe \
         io_uring_free_probe io_uring_register_buffers io_uring_unregister_buffers \
         io_uring_register_files io_uring_unregister_files __io_uring_get_cqe \
         io_uring_submit_and_get_events io_uring_get_events \
         fstat open openat close read write pread pwrite lseek ftruncate
