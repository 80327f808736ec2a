#!/usr/bin/env python3
"""Fails when the modules of src/ import each other in a new cycle.

A module is a top-level file or folder of src/ (src/error.rs, src/fold/...). Every `crate::name`
a module's files mention (in `use` lines or paths) is an edge from it to `name`; every cycle
in that graph is printed. The cycles in scripts/import-cycles.known are the tree's debt (see
docs/architecture.md): they are reported, and one that is gone must be taken off the list.
Any other cycle fails the check. Tests (src/tests) may use everything.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "src"
modules = {}
for path in sorted(root.rglob("*.rs")):
    relative = path.relative_to(root)
    top = relative.parts[0].removesuffix(".rs")
    if top in ("lib", "tests"):
        continue
    text = path.read_text()
    # Comments name modules too; only code counts.
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    used = set(re.findall(r"\bcrate::([a-z_]+)", code))
    for group in re.findall(r"\buse crate::\{([^}]*)\}", code):
        used.update(re.findall(r"\b([a-z_]+)\b", group))
    modules.setdefault(top, set()).update(m for m in used if m != top)

for uses in modules.values():
    uses.intersection_update(modules.keys())

cycles = []
def visit(node, stack, seen):
    for next_node in sorted(modules.get(node, ())):
        if next_node in stack:
            cycle = stack[stack.index(next_node):]
            # Written from its alphabetically first module, so one cycle is one line.
            first = cycle.index(min(cycle))
            cycle = cycle[first:] + cycle[:first] + [min(cycle)]
            key = " -> ".join(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
        elif len(stack) < len(modules):
            visit(next_node, stack + [next_node], seen)

seen = set()
for start in sorted(modules):
    visit(start, [start], seen)

known_file = root.parent / "scripts" / "import-cycles.known"
known = {
    line.strip()
    for line in known_file.read_text().splitlines()
    if line.strip() and not line.startswith("#")
}
found = {" -> ".join(cycle): cycle for cycle in cycles}
new = sorted(set(found) - known)
gone = sorted(known - set(found))
for cycle in sorted(set(found) & known):
    print(f"check-imports: known cycle, to untangle: {cycle}")
if gone:
    print("check-imports: no longer a cycle, take it off scripts/import-cycles.known:")
    print("\n".join("  " + cycle for cycle in gone))
if new:
    print("check-imports: modules import each other in a new cycle:")
    print("\n".join("  " + cycle for cycle in new))
if new or gone:
    sys.exit(1)
print(f"check-imports: no new import cycle among {len(modules)} modules")
