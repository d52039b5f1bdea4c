/*
 * tsan_server.c - lesson 10 under ThreadSanitizer: is the hand-off
 * between the loop and the pool free of data races (the done list, the
 * jobs, the responses they fill)? The run is in driver.h.
 */
#include "driver.h"
