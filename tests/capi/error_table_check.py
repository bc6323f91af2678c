#!/usr/bin/env python3
"""Every FLUME_E* code flume.h declares is in capi/error_codes.def (the list flume_error_name() and
Python's exceptions are made from), and every class named there exists in flume/errors.py.
The compiler already checks the other way: an entry flume.h does not declare does not build.

    error_table_check.py SOURCE_DIR
"""
import ast
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
header = (root / "capi/include/flume/flume.h").read_text()
enum = re.search(r"typedef enum flume_error \{(.*?)\} flume_error;", header, re.S).group(1)
enum = re.sub(r"/\*.*?\*/", "", enum, flags=re.S)
declared = set(re.findall(r"\b(FLUME_[A-Z_]+)\s*=", enum))

table = (root / "capi/error_codes.def").read_text()
entries = re.findall(r"^FLUME_ERROR_CODE\((FLUME_[A-Z_]+),\s*(\w+)\)", table, re.M)
listed = [name for name, _ in entries]

errors_py = ast.parse((root / "bindings/python/flume/errors.py").read_text())
classes = {node.name for node in errors_py.body if isinstance(node, ast.ClassDef)}

problems = []
for name in sorted(declared - set(listed)):
    problems.append(f"{name} is declared in flume.h but missing from capi/error_codes.def")
for name in sorted({n for n in listed if listed.count(n) > 1}):
    problems.append(f"{name} is listed twice in capi/error_codes.def")
for name, cls in entries:
    if cls not in classes:
        problems.append(f"{name} raises {cls}, which flume/errors.py does not define")
if not declared or not entries:
    problems.append("found no codes: the patterns no longer match flume.h or error_codes.def")
for problem in problems:
    print("error_table_check:", problem)
print(f"error_table_check: {len(declared)} codes in flume.h, {len(entries)} in the table")
sys.exit(1 if problems else 0)
