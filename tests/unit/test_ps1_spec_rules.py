"""ps1_check's Ansible.Basic spec rules (tests/tools/ps1_spec_rules.py).

Each firing fixture under tests/fixtures/ps1_check/spec/ marks every line the rules must report
with `# expect: <fragment of the message>`; the fragment names the spec option (the location in
the spec) and the rule. Clean fixtures (good_*) must pass.
"""

import pathlib
import subprocess
import sys

import ps1_check
import ps1_fixtures
import ps1_spec_rules
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ps1_check" / "spec"
BAD = sorted(FIXTURES.glob("bad_*.ps1"))
GOOD = sorted(FIXTURES.glob("good_*.ps1"))


def _root(source):
    return ps1_check.PARSER.parse(source.encode() if isinstance(source, str) else source).root_node


def test_there_are_fixtures_of_both_kinds():
    assert len(BAD) >= 15 and GOOD


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_each_firing_fixture_reports_exactly_its_marked_lines(path):
    expected = ps1_fixtures.expected(path)
    assert expected, f"{path.name} marks no line with '# expect:'"
    problems = ps1_spec_rules.check(_root(path.read_bytes()), path)
    got = [(p.line, p.message) for p in problems]
    for line, fragment in expected:
        assert any(n == line and fragment in message for n, message in got), (
            f"{path.name}:{line}: no problem containing {fragment!r}; got {got}")
    assert {line for line, _fragment in got} <= {line for line, _fragment in expected}, f"unexpected problems: {got}"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_clean_fixtures_pass(path):
    assert ps1_spec_rules.check(_root(path.read_bytes()), path) == []


def test_the_shipped_defect_fails_the_checker_with_file_line_and_column():
    """choices = 'gather' (iis_log_scan.ps1, host_evidence.ps1 before the fix) fails make pwsh-syntax."""
    path = FIXTURES / "bad_choices_string.ps1"
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "ps1_check.py"), str(path)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert f"{path}:8:62: spec option 'phase': 'choices' must be a list, got a string" in run.stdout
    assert "System.Collections.Generic.List`1[System.Object]: actual type System.String" in run.stdout
    assert "write choices = @('gather')" in run.stdout


def _value(expression):
    root = _root(f"$v = {expression}\n")
    assignment = next(n for n in ps1_check._walk(root) if n.type == "assignment_expression")
    return ps1_spec_rules.to_python(ps1_spec_rules.evaluate(assignment.child_by_field_name("value")))


@pytest.mark.parametrize(("expression", "value"), [
    ("'gather'", "gather"),  # a string, never a one-item list
    ("'gather', 'apply'", ["gather", "apply"]),
    ("@('gather')", ["gather"]),
    ("@()", []),
    ("@{}", {}),
    ("@(@('a', 'b'))", ["a", "b"]),  # @() spreads the array it holds
    ("@(,@('a', 'b'))", [["a", "b"]]),
    ("@(@('a', 'b'), @('c'))", [["a", "b"], ["c"]]),
    (",@('a')", [["a"]]),
    ("@($null)", [None]),
    ("$true", True),
    ("-5", -5),
    ("0x10", 16),
    ("'it''s'", "it's"),
    ('"plain"', "plain"),
    ("@{ type = 'str'; 'no_log' = $false }", {"type": "str", "no_log": False}),
])
def test_values_are_read_as_powershell_builds_them(expression, value):
    assert _value(expression) == value


def test_values_known_only_at_run_time_are_marked_as_such():
    assert _value("$choices").startswith("<runtime:")
    assert _value('"a$b"').startswith("<runtime:")
    assert _value("@(Get-Thing)").startswith("<runtime:")


def test_a_spec_held_in_a_variable_or_given_to_create_literally_is_read():
    source = ("$options = @{ a = @{ type = 'str' } }\n$spec = @{ options = $options }\n"
              "$m = [Ansible.Basic.AnsibleModule]::Create($args, @{ options = @{ b = @{ type = 'int' } } })\n")
    specs = ps1_spec_rules.read_specs(_root(source))
    assert [sorted(ps1_spec_rules.to_python(s)) for s in specs] == [["options"], ["options"]]
    assert ps1_spec_rules.to_python(specs[1]) == {"options": {"b": {"type": "int"}}}


def test_a_value_known_only_at_run_time_is_not_reported():
    source = "$spec = @{ options = @{ a = @{ type = $kind; choices = $allowed; default = (Get-Default) } } }\n"
    assert ps1_spec_rules.check(_root(source), None) == []


def test_a_lone_alias_string_is_accepted_as_ansible_basic_does():
    """ValidateArgumentSpec wraps a value of the List's entry type (String for aliases) in a list."""
    source = "$spec = @{ options = @{ path = @{ type = 'path'; aliases = 'dest' } } }\n"
    assert ps1_spec_rules.check(_root(source), None) == []
