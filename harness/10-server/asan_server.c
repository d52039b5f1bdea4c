/*
 * asan_server.c - lesson 10 under AddressSanitizer and UBSan: does the
 * server touch memory it no longer owns (a connection freed while its job
 * was still out, a response written after its queue was freed)? The run
 * is in driver.h.
 */
#include "driver.h"
