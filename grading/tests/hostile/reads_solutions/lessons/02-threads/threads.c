/* Hostile: compiles the reference solution in through an absolute path
 * (@ROOT@ is the course, filled in by run.sh). Expected: zero, "does not
 * compile": the sandbox hides solutions/ from the build too. */
#include "@ROOT@/solutions/02-threads/threads.c"
