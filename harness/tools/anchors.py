#!/usr/bin/env python3
"""Description: keep the chapters' code excerpts identical to the real files.

A chapter quotes a named region of a source file like this (the Rust Book's
way: by anchor, never by line number):

    <!-- include: threads.h:interface -->
    ```c
    ...the lines between ANCHOR: interface and ANCHOR_END: interface...
    ```

The path is relative to the Markdown file. In the source, the region sits
between comment lines holding `ANCHOR: name` and `ANCHOR_END: name`; those
marker lines, and markers of other anchors nested inside, are left out.
`path` alone (no `:name`) quotes the whole file, minus every marker line;
a mutant's patch (`../../harness/NN-name/mutants/NAME.patch`) is quoted
whole, as the diff it is (```diff): the mistake at a glance.

    anchors.py check FILE.md...   exit 1 and say which excerpt differs
    anchors.py fix FILE.md...     rewrite the excerpts from the sources
"""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^<!-- include: (?P<path>[^:\s]+)(?::(?P<anchor>[\w-]+))? -->\s*$')
MARKER = re.compile(r'ANCHOR(_END)?:\s*([\w-]+)')


def excerpt(src: Path, anchor):
    lines = src.read_text().splitlines()
    if anchor is None and src.suffix == '.patch':
        return lines
    if anchor is None:
        return [l for l in lines if not MARKER.search(l)]
    out, inside, found = [], False, False
    for l in lines:
        m = MARKER.search(l)
        if m and m.group(2) == anchor:
            if m.group(1):          # ANCHOR_END
                if not inside:
                    raise ValueError(f'{src}: ANCHOR_END: {anchor} before its ANCHOR')
                inside = False
            else:
                inside, found = True, True
            continue
        if inside and not m:
            out.append(l)
    if not found:
        raise ValueError(f'{src}: no ANCHOR: {anchor}')
    if inside:
        raise ValueError(f'{src}: ANCHOR: {anchor} is never closed')
    return out


def process(md: Path, fix: bool):
    """Return a list of problems; with fix, rewrite md in place."""
    lines = md.read_text().splitlines()
    problems, out, i = [], [], 0
    while i < len(lines):
        out.append(lines[i])
        m = INCLUDE.match(lines[i])
        i += 1
        if not m:
            continue
        ref = m.group('path') + (':' + m.group('anchor') if m.group('anchor') else '')
        where = f'{md}:{i}'
        if i >= len(lines) or not lines[i].startswith('```'):
            problems.append(f'{where}: "include: {ref}" must be followed by a ``` code block')
            continue
        out.append(lines[i])
        start = i + 1
        end = start
        while end < len(lines) and lines[end] != '```':
            end += 1
        if end >= len(lines):
            problems.append(f'{where}: the code block after "include: {ref}" is never closed')
            out.extend(lines[start:])
            break
        try:
            want = excerpt(md.parent / m.group('path'), m.group('anchor'))
        except (OSError, ValueError) as e:
            problems.append(f'{where}: {e}')
            want = lines[start:end]
        have = lines[start:end]
        if have != want:
            if fix:
                print(f'{where}: excerpt {ref} rewritten from the source')
            else:
                first = next((k for k in range(max(len(have), len(want)))
                              if k >= len(have) or k >= len(want) or have[k] != want[k]), 0)
                problems.append(f'{where}: excerpt {ref} differs from the source at its line {first + 1}'
                                f' (run: harness/tools/anchors.py fix {md})')
        out.extend(want if fix else have)
        out.append('```')
        i = end + 1
    if fix:
        md.write_text('\n'.join(out) + '\n')
    return problems


def main(argv):
    if len(argv) < 3 or argv[1] not in ('check', 'fix'):
        print(__doc__)
        return 2
    problems, count = [], 0
    for name in argv[2:]:
        md = Path(name)
        count += sum(1 for l in md.read_text().splitlines() if INCLUDE.match(l))
        problems += process(md, argv[1] == 'fix')
    for p in problems:
        print(p, file=sys.stderr)
    if argv[1] == 'check' and not problems:
        print(f'{count} excerpt(s) in {len(argv) - 2} file(s) match their sources')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
