#!/usr/bin/env bash
# Description: `make watch LESSON=n`: run `make check` again each time a
# file of the lesson changes; Ctrl-C stops. It waits on inotify
# (inotifywait, Debian package inotify-tools) where that works, and falls
# back to looking once a second where it does not (network mounts, WSL's
# Windows folders, no inotify-tools): either way a save is seen.
set -u
cd "$(dirname "$0")/../.." || exit 2
. harness/tools/lessons.sh
[ -n "${1:-}" ] || { echo "make watch needs a lesson: make watch LESSON=1" >&2; exit 2; }
lesson=$(resolve_lesson "$1") || exit 2
impl=${2:-student}
case "$impl" in solution) dir=solutions/$lesson ;; *) dir=lessons/$lesson ;; esac

stamp() { find "$dir" -name '*.[ch]' -printf '%T@ %s %p\n' 2>/dev/null | sort | md5sum; }

# inotify works here if a wait on the folder times out (2) rather than fails (1).
how=polling
if command -v inotifywait >/dev/null 2>&1; then
	inotifywait -qq -t 1 -e close_write "$dir" 2>/dev/null
	[ $? -eq 2 ] && how=inotify
fi

# wait_for_change: return once the lesson's files differ from $last.
wait_for_change() {
	while [ "$(stamp)" = "$last" ]; do
		if [ "$how" = inotify ]; then
			# A timeout too: an editor that saves by rename, or a missed
			# event, is still caught by the stamp within 5 s.
			inotifywait -qq -r -t 5 -e close_write,moved_to,create,delete "$dir" 2>/dev/null
		else
			sleep 1
		fi
	done
}

last=""
while :; do
	last=$(stamp)
	clear 2>/dev/null || true
	harness/tools/check.sh "$lesson" "$impl"
	printf '\nwatching %s/ for changes (%s; Ctrl-C to stop)\n' "$dir" \
		"$([ "$how" = inotify ] && echo inotify || echo 'looking once a second')"
	wait_for_change
done
