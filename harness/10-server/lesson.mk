# Lesson 10's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
# http.c and pool.c are given: the harness's programs compile them from
# lessons/10-server/ (harness/10-server/given.h), never from a submission.
STUDENT_FILES := server.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 120
# Calls beyond harness/mk/calls.txt that this lesson's code may make:
# the event loop's, the files', and the given parser's and pool's.
CALLS := epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait accept accept4 recv send read write \
         close fcntl shutdown setsockopt getsockopt eventfd eventfd_read eventfd_write poll \
         open openat fstat stat lseek pread sendfile strchr strrchr strstr strcspn strspn strcasecmp strncasecmp \
         http_parse_head http_line_end http_head http_reason http_type pool_create pool_submit pool_shutdown
# Mutants whose mistake is a race or a wait that does not wait: `make test`
# runs each one's whole suite twice and wants the same verdicts both times.
RACY_MUTANTS  := frees_conn_with_job
# Tests that need the CPUs to themselves (the witness, CPU/wall, the machine
# judge): the grader runs them alone, the others beside other students'.
# (slowhttptest was one while its header a second met SERVER_REQUEST_MS head
# on; a header every 3 s leaves 2 s between them, whatever the load.)
EXCLUSIVE_TESTS := heavy_parallel
# Of those, the ones whose pass no load can fake (the witness completed
# between two heavy requests): the grader tries them beside other students'
# runs first and keeps a pass.
PASS_ANYWHERE   := heavy_parallel
