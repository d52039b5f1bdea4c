#!/usr/bin/env python3
"""Description: the parts of `make student-repo` that read and write text.

    helper.py generate SRC TOOLS STAGE
        write STAGE/Makefile, STAGE/README.md and
        STAGE/.github/workflows/check.yml from the templates in TOOLS
        (Makefile.in, README.md.in, check.yml.in) and the course in SRC: the
        rules of the student targets from SRC/Makefile, the lessons and
        their STUDENT_FILES from the manifests, two sections of
        SRC/README.md (less the paragraphs about references and mutants)
    helper.py scan COURSE DIR [--allow FILE]
        look in every file under DIR for the reference solutions of COURSE
        (COURSE/solutions/NN-name/*, minus the walkthroughs): exit 1 listing
        each file that holds three or more consecutive lines of a reference
        file that its skeleton (COURSE/lessons/NN-name/, same name) does not
        have, with those lines below it ('    path: line'); FILE lists the
        lines a course file may share with a reference by design, in that
        form ('path: line'), with the reason in a comment above

What counts as a line of the reference: its text with the whitespace
collapsed, 12 characters or more, not in the skeleton, and not trivial
(#include and other preprocessor lines, ANCHOR markers, braces, a short
return). Trivial and blank lines neither extend nor break a run; any other
line breaks it. A leading diff marker (+ or -) is ignored, so a patch or a
quoted diff of the reference is found too.
"""
import os
import re
import sys
from collections import defaultdict

# The targets of the students' Makefile whose rules are the course's own.
STUDENT_TARGETS = ['check', 'watch', 'reset', 'doctor', 'slides', 'bench', 'clean']
# Paragraphs of the course's README the students' README leaves out: they
# are about the references, the mutants or the instructors' targets (and the
# excerpt of a mutant that the course's README quotes).
README_DROP = r'mutant|solutions/|reference|make (test|audit|grade)'
MIN_LEN = 12
MIN_RUN = 3
SHOW = 8         # lines listed per run found
TRIVIAL = re.compile(
    r'^(#\s*\w+.*'                              # preprocessor
    r'|(/\*|//|\*)?\s*ANCHOR(_END)?:.*'         # chapter anchors
    r'|[{}()\[\];,.*/\s]*'                      # punctuation only
    r'|\}?\s*(else|do|for \(;;\))\s*\{?'       # bare keywords
    r'|return[^;]{0,12};'                       # a short return
    r'|(break|continue);'
    r')$')


class Missing(Exception):
    pass


def norm(line):
    return re.sub(r'\s+', ' ', line.strip())


def section(readme, heading, drop=None):
    """The body of '## heading', less the paragraphs matching drop."""
    lines = open(readme, encoding='utf-8').read().split('\n')
    start = None
    for i, l in enumerate(lines):
        if l.strip() == '## ' + heading:
            start = i + 1
            break
    if start is None:
        raise Missing(f'{readme} has no section "## {heading}"')
    body = []
    for l in lines[start:]:
        if l.startswith('## '):
            break
        body.append(l)
    # Paragraphs, fence-aware: a blank line inside ``` does not end one.
    paras, cur, fence = [], [], False
    for l in body:
        if l.startswith('```'):
            fence = not fence
        if not fence and not l.strip():
            if cur:
                paras.append(cur)
            cur = []
            continue
        cur.append(l)
    if cur:
        paras.append(cur)
    out = []
    for p in paras:
        text = '\n'.join(p)
        if drop and re.search(drop, text, re.I):
            continue
        if drop and text.startswith('<!-- include:'):
            continue
        out.append(text)
    return '\n\n'.join(out)


def rules(makefile, targets):
    """Each target's rule line and recipe lines, as in the Makefile."""
    lines = open(makefile, encoding='utf-8').read().split('\n')
    out, missing = [], []
    for t in targets:
        block = None
        for i, l in enumerate(lines):
            if re.match(re.escape(t) + r'\s*:(?!=)', l):
                block = [l]
                for r in lines[i + 1:]:
                    if not r.startswith('\t'):
                        break
                    block.append(r)
                break
        if block is None:
            missing.append(t)
        else:
            out.append('\n'.join(block) + '\n')
    if missing:
        raise Missing(f'{makefile} has no rule for: {" ".join(missing)}')
    return '\n'.join(out)


def fill(template, values):
    """The template, each line that is exactly a key replaced by its value."""
    out = []
    for l in open(template, encoding='utf-8').read().split('\n'):
        out.append(values[l] if l in values else l)
    return '\n'.join(out)


def lessons(src):
    """[(lesson, [student files])], the manifests read as the grader reads them."""
    out = []
    for name in sorted(os.listdir(os.path.join(src, 'lessons'))):
        if not re.match(r'^[0-9][0-9]-', name) or not os.path.isdir(os.path.join(src, 'lessons', name)):
            continue
        mk = open(os.path.join(src, 'harness', name, 'lesson.mk'), encoding='utf-8').read()
        m = re.search(r'^STUDENT_FILES\s*:?=\s*(.*)$', mk, re.M)
        if not m or not m.group(1).split():
            raise Missing(f'harness/{name}/lesson.mk has no STUDENT_FILES')
        out.append((name, m.group(1).split()))
    if not out:
        raise Missing(f'no lessons in {src}/lessons/')
    return out


def generate(src, tools, stage):
    """Write the students' Makefile, README.md and .github/workflows/check.yml."""
    ls = lessons(src)
    mk = fill(os.path.join(tools, 'Makefile.in'), {
        '@RULES@': rules(os.path.join(src, 'Makefile'), STUDENT_TARGETS)})
    rows = []
    for name, files in ls:
        num, _, title = name.partition('-')
        links = ', '.join(f'[`{f}`](lessons/{name}/{f})' for f in files)
        rows.append(f'| [{num} · {title}](lessons/{name}/README.md) | {links} |')
    readme = os.path.join(src, 'README.md')
    md = fill(os.path.join(tools, 'README.md.in'), {
        '@STUDENT_FILES@': '\n'.join(rows),
        '@SECTION The lessons@': section(readme, 'The lessons'),
        '@SECTION How the harness measures@': section(readme, 'How the harness measures', README_DROP)})
    yml = fill(os.path.join(tools, 'check.yml.in'), {
        '@MATRIX@': '\n'.join(f'          - {name}' for name, _ in ls)})
    os.makedirs(os.path.join(stage, '.github', 'workflows'), exist_ok=True)
    for rel, text in (('Makefile', mk), ('README.md', md), ('.github/workflows/check.yml', yml)):
        with open(os.path.join(stage, rel), 'w', encoding='utf-8') as f:
            f.write(text)


def reference_lines(course):
    """normalized line -> set of reference files holding it"""
    ref = defaultdict(set)
    sol = os.path.join(course, 'solutions')
    for dirpath, _, names in os.walk(sol):
        for n in sorted(names):
            if n.endswith('.md'):
                continue   # the walkthroughs: prose, quoting the code by anchor
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, sol)
            skel_path = os.path.join(course, 'lessons', rel)
            skel = set()
            if os.path.isfile(skel_path):
                skel = {norm(l) for l in open(skel_path, encoding='utf-8', errors='replace')}
            for l in open(path, encoding='utf-8', errors='replace'):
                k = norm(l)
                if len(k) >= MIN_LEN and not TRIVIAL.match(k) and k not in skel:
                    ref[k].add('solutions/' + rel)
    return ref


def load_allow(path):
    allow = set()
    if not path:
        return allow
    for l in open(path, encoding='utf-8'):
        if not l.strip() or l.startswith('#'):
            continue
        p, sep, text = l.rstrip('\n').partition(': ')
        if not sep:
            sys.exit(f'helper.py: {path}: "{l.strip()}" is not "path: line"')
        allow.add((p.strip(), norm(text)))
    return allow


def scan(course, top, allow_file):
    ref = reference_lines(course)
    if not ref:
        print(f'helper.py: no reference files under {course}/solutions/', file=sys.stderr)
        return 2
    allow = load_allow(allow_file)
    found = []
    for dirpath, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != '.git')
        for n in sorted(names):
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, top)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            data = open(path, 'rb').read()
            if b'\0' in data:
                continue
            run = []
            runs = []
            for i, l in enumerate(data.decode('utf-8', 'replace').split('\n'), 1):
                k = norm(l)
                if not k or TRIVIAL.match(k):
                    continue
                hit = k if k in ref else None
                if hit is None and k[:1] in '+-' and norm(k[1:]) in ref:
                    hit = norm(k[1:])
                if hit is not None and (rel, hit) not in allow:
                    run.append((i, hit))
                    continue
                if len(run) >= MIN_RUN:
                    runs.append(run)
                run = []
            if len(run) >= MIN_RUN:
                runs.append(run)
            for r in runs:
                srcs = set.intersection(*(ref[k] for _, k in r)) or ref[r[0][1]]
                shown = [f'    {rel}: {k}' for _, k in r[:SHOW]]
                if len(r) > SHOW:
                    shown.append(f'    ({len(r) - SHOW} more)')
                found.append(f'{rel}:{r[0][0]}-{r[-1][0]}: {len(r)} lines of '
                             f'{", ".join(sorted(srcs))}:\n' + '\n'.join(shown))
    for f in found:
        print(f)
    return 1 if found else 0


def main(argv):
    try:
        if len(argv) == 5 and argv[1] == 'generate':
            generate(argv[2], argv[3], argv[4])
            return 0
        if len(argv) in (4, 6) and argv[1] == 'scan':
            allow = argv[5] if len(argv) == 6 and argv[4] == '--allow' else None
            return scan(argv[2], argv[3], allow)
    except (Missing, OSError) as e:
        print(f'helper.py: {e}', file=sys.stderr)
        return 2
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
