# Lesson 05's manifest: the files the student writes (the grader takes only
# these), extra libraries, and the whole run's time limit in seconds.
STUDENT_FILES := server.c
LDLIBS_EXTRA  :=
RUN_TIMEOUT   := 180
# Calls beyond harness/mk/calls.txt that this lesson's code may make.
CALLS := epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait accept accept4 recv send read write \
         close fcntl poll shutdown setsockopt getsockopt signal sigaction sigemptyset sigaddset \
         fork waitpid _exit eventfd \
         recvfrom sendto recvmsg sendmsg readv writev epoll_pwait2 timerfd_create timerfd_settime
