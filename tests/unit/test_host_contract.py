"""Both implementations of each host module take the same options (docs/host-contract.md).

ansible-test validate-modules needs pwsh to read a .ps1 argument spec; this reads the RAW
``$spec`` of every .ps1 from its syntax tree (tests/tools/ps1_spec_rules.py: a PowerShell string
stays a string, 'a', 'b' and @('a') are lists, @{} a dict) and compares its options with the .py's
HOST_ARGUMENT_SPEC. Nothing is normalised: `choices = 'gather'` (a string, which Ansible.Basic
rejects) differs from the twin's ["gather"].
"""

import ast
import importlib
import pathlib

import ps1_check
import ps1_spec_rules
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.ps1"))


def ps1_options(path: pathlib.Path) -> dict:
    """The options of the file's one argument spec, as plain Python values."""
    root = ps1_check.PARSER.parse(path.read_bytes()).root_node
    assert not root.has_error, f"{path.name}: does not parse"
    specs = ps1_spec_rules.read_specs(root)
    assert len(specs) == 1, f"{path.name}: expected one argument spec, found {len(specs)}"
    spec = ps1_spec_rules.to_python(specs[0])
    assert isinstance(spec.get("options"), dict), f"{path.name}: $spec has no options hashtable"
    return spec["options"]


@pytest.mark.parametrize("name", MODULES)
def test_ps1_and_py_take_the_same_options(name):
    module = importlib.import_module(f"ansible_collections.meddev.hardening.plugins.modules.{name}")
    assert ps1_options(ROOT / "plugins" / "modules" / f"{name}.ps1") == module.HOST_ARGUMENT_SPEC


def test_reader_keeps_a_string_choices_a_string(tmp_path):
    """The defect the old regex reader hid: it turned choices = 'gather' into ['gather']."""
    bad = tmp_path / "x.ps1"
    bad.write_text("$spec = @{\n    options = @{\n        phase = @{ type = 'str'; choices = 'gather' }\n    }\n}\n")
    assert ps1_options(bad) == {"phase": {"type": "str", "choices": "gather"}}
    assert ps1_options(bad) != {"phase": {"type": "str", "choices": ["gather"]}}


def test_reader_reads_lists_dicts_and_scalars_as_the_twin_writes_them(tmp_path):
    good = tmp_path / "x.ps1"
    good.write_text("$spec = @{\n    options = @{\n"
                    "        phase = @{ type = 'str'; required = $true; choices = 'gather', 'apply' }\n"
                    "        one = @{ type = 'str'; choices = @('gather') }  # a comment\n"
                    "        changes = @{ type = 'list'; elements = 'dict'; default = @() }\n"
                    "        services = @{ type = 'dict'; default = @{} }\n"
                    "        max = @{ type = 'int'; default = 500 }\n"
                    "    }\n    supports_check_mode = $true\n}\n"
                    "$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)\n")
    assert ps1_options(good) == {
        "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
        "one": {"type": "str", "choices": ["gather"]},
        "changes": {"type": "list", "elements": "dict", "default": []},
        "services": {"type": "dict", "default": {}},
        "max": {"type": "int", "default": 500},
    }


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
