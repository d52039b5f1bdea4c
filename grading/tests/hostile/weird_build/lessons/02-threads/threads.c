/* Nothing lost: does not compile, and the compiler quotes the offending
 * line, which run.sh fills (@BYTES@) with invalid UTF-8, U+FFFE, U+FFFF,
 * control characters, "]]>" and a formula: the build log goes into
 * feedback.txt, results.json and junit.xml. Expected: zero, "does not
 * compile", and every report still valid. */
#include "threads.h"

#error "@BYTES@ ]]> <x/> =cmd|' /C calc'!A0"
