#!/usr/bin/env bash
# Description: `make watch LESSON=n`: run `make check` again each time a
# file of the lesson changes (polls once a second; Ctrl-C stops).
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
[ -n "${1:-}" ] || { echo "make watch needs a lesson: make watch LESSON=1" >&2; exit 2; }
lesson=$(resolve_lesson "$1") || exit 2
impl=${2:-student}
case "$impl" in solution) dir=solutions/$lesson ;; *) dir=lessons/$lesson ;; esac

stamp() { find "$dir" -name '*.[ch]' -printf '%T@ %p\n' 2>/dev/null | sort | md5sum; }

last=""
while :; do
	now=$(stamp)
	if [ "$now" != "$last" ]; then
		last=$now
		clear 2>/dev/null || true
		harness/tools/check.sh "$lesson" "$impl"
		printf '\nwatching %s/ for changes (Ctrl-C to stop)\n' "$dir"
	fi
	sleep 1
done
