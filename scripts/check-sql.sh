#!/usr/bin/env bash
# Fails when Rust code outside src/sql/ (the safe SQL builder) and src/model/sql.rs (a
# metric's own expressions, built from the builder's parts) formats SQL text with format!, or
# turns text into `Sql` (Sql::assembled): every statement with variable parts is built there,
# from quoted identifiers (Ident, Relation), $n parameters and checked expressions
# (docs/security.md). Test code is exempt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python3 - "$root" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
# SQL keywords as statements spell them, or names only SQL uses.
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|LOCK|TRUNCATE|GRANT|REVOKE|WITH|COPY|EXECUTE|FROM|WHERE)\b|pg_catalog\.|tally\._")
LITERAL = re.compile(r'r(#*)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', re.S)
# Comments blanked (strings first, so "//" inside one is no comment).
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/', re.S)
def code_only(text):
    return TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else re.sub(r"[^\n]", " ", m.group(0)), text)
found = []
for path in sorted((root / "src").rglob("*.rs")):
    rel = path.relative_to(root).as_posix()
    text = path.read_text()
    # Text becomes `Sql` only where it is built: the one call site of `Sql::assembled`
    # (src/model/sql.rs) and the type's own module (src/sql/mod.rs, which defines it).
    if rel not in ("src/model/sql.rs", "src/sql/mod.rs"):
        code = code_only(text)
        for call in re.finditer(r"\bassembled\s*\(", code):
            line = code.count("\n", 0, call.start()) + 1
            found.append(f"{rel}:{line}: Sql::assembled outside src/model/sql.rs")
    if rel.startswith("src/sql/") or rel.startswith("src/tests/") or rel == "src/model/sql.rs":
        continue
    for call in re.finditer(r"\bformat!\s*\(", text):
        literal = LITERAL.match(text, re.compile(r"\s*").match(text, call.end()).end())
        if literal is None:
            continue
        body = literal.group(2) if literal.group(2) is not None else literal.group(3)
        if SQL.search(body):
            line = text.count("\n", 0, call.start()) + 1
            found.append(f"{rel}:{line}: {body.strip()[:80]!r}")
if found:
    print("SQL built outside src/sql/ and src/model/sql.rs (build it in the sql module from Ident, Relation and $n parameters):")
    print("\n".join(found))
    sys.exit(1)
print("check-sql: no SQL formatted outside src/sql/ and src/model/sql.rs")
PY
