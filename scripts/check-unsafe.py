#!/usr/bin/env python3
"""Fails when `unsafe` code appears outside the modules that hold it: `src/ffi*` (calls every
concern shares: whose rights, settings, subtransactions, SPI) and each concern folder's `sys`
module (`src/<concern>/sys.rs` or `src/<concern>/sys/`), where every block carries a SAFETY
comment (clippy::undocumented_unsafe_blocks, denied in lib.rs). Comments are not code."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
UNSAFE = re.compile(r"\bunsafe\b")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def allowed(rel: str) -> bool:
    parts = rel.split("/")
    return (
        rel == "src/ffi.rs"
        or rel.startswith("src/ffi/")
        or (len(parts) >= 3 and (parts[2] == "sys.rs" or parts[2] == "sys"))
    )


found = []
for path in sorted((root / "src").rglob("*.rs")):
    rel = path.relative_to(root).as_posix()
    if allowed(rel):
        continue
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = STRING.sub('""', line.split("//", 1)[0])
        if UNSAFE.search(code):
            found.append(f"{rel}:{number}: {line.strip()}")
if found:
    print("unsafe outside src/ffi* and the concern folders' sys modules (move the call into one):")
    print("\n".join(found))
    sys.exit(1)
print("check-unsafe: unsafe only in src/ffi* and */sys")
