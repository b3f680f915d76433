"""Both implementations of each host module take the same options (docs/host-contract.md).

ansible-test validate-modules needs pwsh to read a .ps1 argument spec; this reads the
``$spec`` options block of every .ps1 and compares it with the .py's HOST_ARGUMENT_SPEC.
"""

import ast
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.ps1"))
OPTION = re.compile(r"^\s*(\w+)\s*=\s*@\{(.*)\}\s*$")
FIELD = re.compile(r"(\w+)\s*=\s*((?:'[^']*'(?:\s*,\s*'[^']*')*)|\$true|\$false|@\(\)|@\{\}|\d+)")


def ps1_options(path: pathlib.Path) -> dict:
    text = path.read_text(encoding="utf-8")
    block = re.search(r"options = @\{\n(.*?)\n    \}", text, re.S)
    assert block, f"{path.name}: no options block in $spec"
    options = {}
    for line in block.group(1).splitlines():
        match = OPTION.match(line)
        assert match, f"{path.name}: cannot read option line {line!r}"
        fields = {}
        for key, value in FIELD.findall(match.group(2)):
            if value.startswith("'"):
                items = re.findall(r"'([^']*)'", value)
                fields[key] = items if key == "choices" else items[0]
            elif value.isdigit():
                fields[key] = int(value)
            else:
                fields[key] = {"$true": True, "$false": False, "@()": [], "@{}": {}}[value]
        options[match.group(1)] = fields
    return options


@pytest.mark.parametrize("name", MODULES)
def test_ps1_and_py_take_the_same_options(name):
    module = importlib.import_module(f"ansible_collections.meddev.hardening.plugins.modules.{name}")
    assert ps1_options(ROOT / "plugins" / "modules" / f"{name}.ps1") == module.HOST_ARGUMENT_SPEC


def test_reader_sees_a_mismatch(tmp_path):
    bad = tmp_path / "x.ps1"
    bad.write_text("$spec = @{\n    options = @{\n        phase = @{ type = 'str'; choices = 'gather' }\n    }\n}\n")
    assert ps1_options(bad) == {"phase": {"type": "str", "choices": ["gather"]}}


@pytest.mark.parametrize("name", MODULES)
def test_modules_that_change_a_host_share_the_locked_apply_tail(name):
    """A module whose winsim side applies changes runs its .ps1 apply through MeddevHost.psm1
    (host lock, changes in order, state after a failure), as winsim.run_host_module does."""
    source = (ROOT / "plugins" / "modules" / f"{name}.py").read_text(encoding="utf-8")
    ps1 = (ROOT / "plugins" / "modules" / f"{name}.ps1").read_text(encoding="utf-8")
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and getattr(node.func, "id", "") == "run_host_module"]
    assert len(calls) == 1, f"{name}.py: expected one run_host_module call"
    applies = len(calls[0].args) + len(calls[0].keywords) == 4  # module, name, gather, apply_change
    requires = "#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost"
    assert applies == (requires in ps1.splitlines() and "Invoke-MeddevHostModule -Module $module" in ps1)
