#!/usr/bin/env python3
"""The test files that GATREC_GROUPED_TESTS compiles as one translation unit per kind
(tests/unit, tests/data, tests/llm, tests/emulation: test_*.cpp; tests/cuda: test_*.cu) follow the rules that let
them share it:
- everything after the includes sits in a namespace named after the file (`namespace test_x {`,
  closed by the file's last line `}  // namespace test_x`), so that two files' helpers of the same
  name do not collide;
- no #include inside that namespace (a header included there would land in the file's namespace,
  or be skipped by its include guard in the next file);
- every macro a file #defines it #undefs, so that it does not leak into the files after it.
A file that breaks them would often still compile today and break the build the day another file
gains a helper of the same name: this says which file and line instead.

usage: test_grouped_test_files.py REPO_ROOT
"""
import glob
import os
import re
import sys

root = sys.argv[1]
patterns = ["tests/unit/test_*.cpp", "tests/data/test_*.cpp", "tests/llm/test_*.cpp", "tests/cuda/test_*.cu",
            "tests/emulation/test_*.cpp"]
files = sorted(f for p in patterns for f in glob.glob(os.path.join(root, p)))
problems = []

for path in files:
    name = os.path.relpath(path, root)
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    opening = f"namespace {stem} {{"
    opened = [i for i, line in enumerate(lines) if line == opening]
    if len(opened) != 1:
        problems.append(f"{name}: expected exactly one line `{opening}` after the includes, found {len(opened)}")
        continue
    start = opened[0]
    content = [i for i, line in enumerate(lines) if line.strip()]
    closing = f"}}  // namespace {stem}"
    if lines[content[-1]] != closing:
        problems.append(f"{name}:{content[-1] + 1}: the last line should be `{closing}`")
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("#include"):
            problems.append(f"{name}:{i + 1}: #include inside namespace {stem} (move it above line {start + 1})")
    for i in range(start):
        code = lines[i].strip()
        if code and not code.startswith(("#", "//")):
            problems.append(f"{name}:{i + 1}: code before namespace {stem} opens (line {start + 1}): `{code}`")
    defined = {}
    for i, line in enumerate(lines):
        m = re.match(r"\s*#\s*define\s+(\w+)", line)
        if m:
            defined.setdefault(m.group(1), i + 1)
        m = re.match(r"\s*#\s*undef\s+(\w+)", line)
        if m:
            defined.pop(m.group(1), None)
    for macro, line in defined.items():
        problems.append(f"{name}:{line}: macro {macro} is never #undef'd (it would leak into the next file)")

if len(files) < 4:
    problems.append(f"only {len(files)} test files found under {root}: wrong REPO_ROOT?")
for p in problems:
    print(p)
print(f"{len(files)} test files checked, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
