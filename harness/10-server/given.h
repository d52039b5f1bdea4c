/*
 * given.h - the lesson's given code (lessons/10-server/http.c and pool.c),
 * compiled into each harness program that links the student's server.c:
 * the tests, the pictures, the benchmark and the sanitizer drivers. The
 * grader takes only server.c from a submission, so these always come from
 * the course.
 */
#ifndef AT_GIVEN10_H
#define AT_GIVEN10_H
#include "http.c"
#include "pool.c"
#endif
