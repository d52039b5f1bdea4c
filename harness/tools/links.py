#!/usr/bin/env python3
"""Description: every picture and local file a chapter links to exists.

    links.py FILE.md...    exit 1 naming each broken link

Checks Markdown links and images whose target is a relative path (not a
URL, not an #anchor), resolved against the Markdown file's folder.
"""
import re
import sys
from pathlib import Path

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')


def main(argv):
    bad, count = [], 0
    for name in argv[1:]:
        md = Path(name)
        in_code = False
        for n, line in enumerate(md.read_text().splitlines(), 1):
            if line.startswith('```'):
                in_code = not in_code
            if in_code:
                continue
            for target in LINK.findall(line):
                if re.match(r'^[a-z]+:', target) or target.startswith('#'):
                    continue
                count += 1
                path = (md.parent / target.split('#')[0]).resolve()
                if not path.exists():
                    bad.append(f'{md}:{n}: {target} does not exist')
    for b in bad:
        print(b, file=sys.stderr)
    if not bad:
        print(f'{count} local link(s) and picture(s) in {len(argv) - 1} file(s) exist')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
