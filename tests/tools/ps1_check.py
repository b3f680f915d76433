# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse-check PowerShell files with the tree-sitter grammar and reject dynamic code.

Usage: ps1_check.py FILE.ps1 [...]; exit 1 if any file has a syntax error node or runs code
built at run time (Invoke-Expression, iex, [scriptblock]::Create, & or . on a non-literal).
No PowerShell is needed: this is what CI can verify on Linux.
"""

from __future__ import annotations

import sys

import tree_sitter
import tree_sitter_powershell

DYNAMIC_COMMANDS = {"invoke-expression", "iex"}
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def problems(source: bytes) -> list:
    """Return "line:col message" strings; empty when the file is clean."""
    found = []
    for node in _walk(PARSER.parse(source).root_node):
        where = f"{node.start_point[0] + 1}:{node.start_point[1] + 1}"
        text = node.text.decode("utf-8", "replace")
        if node.is_error or node.is_missing:
            found.append(f"{where} syntax error near {text[:40]!r}")
        elif node.type == "command_name" and text.lower() in DYNAMIC_COMMANDS:
            found.append(f"{where} dynamic code: {text}")
        elif node.type == "invokation_expression":
            types = [c.text.decode().lower() for c in node.children if c.type == "type_literal"]
            members = [c.text.decode().lower() for c in node.children if c.type == "member_name"]
            if "[scriptblock]" in types and "create" in members:
                found.append(f"{where} dynamic code: [scriptblock]::Create")
        elif node.type == "command" and node.children and node.children[0].type == "command_invokation_operator":
            target = node.children[1] if len(node.children) > 1 else None
            literal = target is not None and target.type == "command_name_expr" and all(
                c.type == "path_command_name" and all(t.type == "path_command_name_token" for t in c.children)
                for c in target.children)
            if not literal:
                found.append(f"{where} dynamic code: invocation operator on a computed command")
    return found


def main(paths) -> int:
    failed = 0
    for path in paths:
        with open(path, "rb") as handle:
            issues = problems(handle.read())
        for issue in issues:
            print(f"{path}:{issue}")
        failed += bool(issues)
        if not issues:
            print(f"{path}: ok")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
