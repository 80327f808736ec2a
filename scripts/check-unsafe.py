#!/usr/bin/env python3
"""Fails when unsafe code appears outside the modules that hold it: `src/ffi.rs` and `src/ffi/`
(calls every concern shares: whose rights, settings, subtransactions, SPI) and the `sys` module
of each concern folder that needs one (`src/{catalog,write,fold,read}/sys.rs` or `.../sys/`),
where every block carries a SAFETY comment (clippy::undocumented_unsafe_blocks, denied in
lib.rs). Unsafe code: the `unsafe` keyword, and the attributes that export or place a symbol
(`no_mangle`, `export_name`, `link_section`). Strings and comments are not code."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
CONCERNS_WITH_SYS = ("catalog", "write", "fold", "read")
UNSAFE = re.compile(r"\bunsafe\b|\bno_mangle\b|\bexport_name\b|\blink_section\b")
# One pass over the text, left to right: what starts first wins, so "//" inside a string and
# a quote inside a comment are both what they are.
TOKEN = re.compile(
    r'(?P<raw>\br(?P<hashes>#*)".*?"(?P=hashes))'
    r'|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<line>//[^\n]*)"
    r"|(?P<block>/\*.*?\*/)"
    r"|(?P<char>'(?:[^'\\\n]|\\.)')",
    re.S,
)


def allowed(rel: str) -> bool:
    if rel == "src/ffi.rs" or rel.startswith("src/ffi/"):
        return True
    return any(
        rel == f"src/{c}/sys.rs" or rel.startswith(f"src/{c}/sys/") for c in CONCERNS_WITH_SYS
    )


def code_only(text: str) -> str:
    """The text with strings, chars and comments blanked (newlines kept for line numbers)."""
    return TOKEN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


found = []
for path in sorted((root / "src").rglob("*.rs")):
    rel = path.relative_to(root).as_posix()
    if allowed(rel):
        continue
    text = path.read_text()
    code = code_only(text)
    for match in UNSAFE.finditer(code):
        number = code.count("\n", 0, match.start()) + 1
        found.append(f"{rel}:{number}: {text.splitlines()[number - 1].strip()}")
if found:
    print("unsafe code outside src/ffi* and the concern folders' sys modules (move it into one):")
    print("\n".join(found))
    sys.exit(1)
print("check-unsafe: unsafe code only in src/ffi* and {catalog,write,fold,read}/sys")
