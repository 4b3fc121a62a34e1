#!/usr/bin/env python3
"""The engine's folders include each other in one direction only.

Reads every '#include "DIR/..."' line of engine/**/*.{c,h}, builds the
graph of folders, and fails on any cycle (naming the files whose includes
close it), on a folder including one at its own layer or above (LAYERS
below, the order docs/architecture.md draws), on a folder LAYERS does not
place, on util/ including another engine folder, and on a step kind's
name (the '.name = "..."' of engine/steps/*.c) written as a string outside
engine/steps/.  --self-test runs the checks on small made-up trees first,
so a check that always passes is caught.

Usage: layers.py [--self-test] ENGINE_DIR.  Prints "N passed, N failed";
exit 0 ok, 1 a check failed, 99 harness error.
"""
import os
import re
import sys
import tempfile

# The engine's layers, top first: a folder includes only folders of later
# layers.  docs/architecture.md, "The folders", shows the same order.
LAYERS = [
    ['cli'],
    ['exec'],
    ['plan', 'report'],
    ['steps'],
    ['sources', 'targets'],
    ['convert', 'guest', 'manifest'],
    ['disk', 'xva', 'state'],
    ['util'],
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z0-9_-]+)/[^"]+"', re.M)
KIND = re.compile(r'^\s*\.name\s*=\s*"([a-z0-9-]+)"', re.M)
COMMENT = re.compile(r'/\*.*?\*/', re.S)


def sources(engine):
    for root, _dirs, files in os.walk(engine):
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.join(root, f)


def folder_of(engine, path):
    rel = os.path.relpath(path, engine)
    return rel.split(os.sep)[0] if os.sep in rel else None


def graph(engine):
    """folder -> {folder: [files that include it]}"""
    folders = {d for d in os.listdir(engine)
               if os.path.isdir(os.path.join(engine, d))}
    g = {d: {} for d in folders}
    for path in sources(engine):
        src = folder_of(engine, path)
        if src is None:
            continue
        with open(path, encoding='utf-8', errors='replace') as fh:
            text = fh.read()
        for dst in INCLUDE.findall(text):
            if dst != src and dst in folders:
                g[src].setdefault(dst, []).append(os.path.relpath(path, engine))
    return g


def find_cycles(g):
    """Every strongly connected component with more than one folder."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def check_cycles(engine):
    g = graph(engine)
    problems = []
    for comp in find_cycles(g):
        edges = []
        for a in comp:
            for b in comp:
                if b in g[a]:
                    edges.append('%s -> %s (%s)' % (a, b, ', '.join(g[a][b][:3])))
        problems.append('folders include each other in a cycle: %s\n    %s'
                        % (' , '.join(comp), '\n    '.join(edges)))
    for dst, files in sorted(g.get('util', {}).items()):
        problems.append('util/ includes %s/ (%s): util/ includes no engine folder'
                        % (dst, ', '.join(files[:3])))
    return problems


def check_layers(engine, layers=None):
    layers = LAYERS if layers is None else layers
    rank = {d: i for i, row in enumerate(layers) for d in row}
    g = graph(engine)
    problems = []
    for src in sorted(g):
        if src not in rank:
            problems.append('folder %s/ has no place in the layers (add it to LAYERS '
                            'in tests/lint/layers.py and to docs/architecture.md)' % src)
            continue
        for dst, files in sorted(g[src].items()):
            if dst in rank and rank[dst] <= rank[src]:
                problems.append('%s/ includes %s/ (%s), which is not below it'
                                % (src, dst, ', '.join(files[:3])))
    return problems


def check_kind_names(engine):
    steps = os.path.join(engine, 'steps')
    kinds = set()
    if os.path.isdir(steps):
        for path in sources(steps):
            with open(path, encoding='utf-8') as fh:
                kinds.update(KIND.findall(fh.read()))
    problems = []
    for path in sources(engine):
        if folder_of(engine, path) == 'steps':
            continue
        with open(path, encoding='utf-8', errors='replace') as fh:
            code = COMMENT.sub('', fh.read())
        for kind in sorted(kinds):
            if '"%s"' % kind in code:
                problems.append('%s names the step kind "%s": ask its struct step_ops instead'
                                % (os.path.relpath(path, engine), kind))
    return problems


def write_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as fh:
            fh.write(text)


def self_test():
    """The checks find what they are for, and pass a clean tree."""
    fails = []
    cases = [
        ({'a/a.c': '#include "b/b.h"\n', 'b/b.h': '#include "c/c.h"\n',
          'c/c.h': '#include "a/a.h"\n', 'a/a.h': ''}, check_cycles, 1),
        ({'a/a.c': '#include "b/b.h"\n#include "util/u.h"\n', 'b/b.h': '',
          'util/u.h': ''}, check_cycles, 0),
        ({'util/u.c': '#include "plan/plan.h"\n', 'plan/plan.h': ''},
         check_cycles, 1),
        ({'steps/x.c': '    .name = "disk-copy",\n',
          'exec/j.c': 'if (strcmp(k, "disk-copy") == 0)\n'}, check_kind_names, 1),
        ({'steps/s.c': '#include "plan/plan.h"\n', 'plan/plan.h': ''},
         check_layers, 1),
        ({'plan/p.c': '#include "steps/steps.h"\n', 'steps/steps.h': ''},
         check_layers, 0),
        ({'newdir/n.c': ''}, check_layers, 1),
        ({'steps/x.c': '    .name = "disk-copy",\n',
          'exec/j.c': '/* "disk-copy" in a comment */\n'}, check_kind_names, 0),
    ]
    for i, (files, check, want) in enumerate(cases):
        with tempfile.TemporaryDirectory() as d:
            write_tree(d, files)
            got = len(check(d))
        if got != want:
            fails.append('self-test case %d: %s found %d problems, expected %d'
                         % (i, check.__name__, got, want))
    return fails


def main(argv):
    args = [a for a in argv[1:] if a != '--self-test']
    if len(args) != 1 or not os.path.isdir(args[0]):
        print('usage: layers.py [--self-test] ENGINE_DIR', file=sys.stderr)
        return 99
    passed = failed = 0
    if '--self-test' in argv:
        for p in self_test():
            print('FAIL:', p)
            failed += 1
        if failed == 0:
            passed += 1
    for check in (check_cycles, check_layers, check_kind_names):
        problems = check(args[0])
        for p in problems:
            print('FAIL: %s: %s' % (check.__name__, p))
        if problems:
            failed += 1
        else:
            passed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
