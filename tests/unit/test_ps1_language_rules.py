"""ps1_check's Windows PowerShell 5.1 language rules (tests/tools/ps1_language_rules.py).

Each firing fixture under tests/fixtures/ps1_check/language/ marks every line the rules must
report with `# expect: <fragment>`; the fragment starts with the rule's [name]. Clean fixtures
(good_*) must pass.
"""

import json
import pathlib
import re
import subprocess
import sys

import ps1_check
import ps1_fixtures
import ps1_language_rules
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ps1_check" / "language"
BAD = sorted(FIXTURES.glob("bad_*.ps1"))
GOOD = sorted(FIXTURES.glob("good_*.ps1"))
RULE_NAMES = {"ps7-syntax", "ps7-parameter", "collection-return", "null-comparison", "unassigned-variable",
              "alias", "encoding", "file-share"}


def _check(source: bytes, path=None):
    root = ps1_check.PARSER.parse(source).root_node
    assert not root.has_error, "fixture does not parse"
    return ps1_language_rules.check(root, path)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_each_firing_fixture_reports_exactly_its_marked_lines(path):
    expected = ps1_fixtures.expected(path)
    assert expected, f"{path.name} marks no line with '# expect:'"
    got = [(p.line, p.message) for p in _check(path.read_bytes(), path)]
    for line, fragment in expected:
        assert any(n == line and fragment in message for n, message in got), (
            f"{path.name}:{line}: no problem containing {fragment!r}; got {got}")
    assert {line for line, _fragment in got} <= {line for line, _fragment in expected}, f"unexpected problems: {got}"


def test_every_rule_has_a_firing_fixture_and_every_message_names_its_rule():
    fired = set()
    for path in BAD:
        for problem in _check(path.read_bytes(), path):
            rule = re.match(r"\[([a-z0-9-]+)\] ", problem.message)
            assert rule, f"{path.name}: message does not start with its [rule]: {problem.message}"
            fired.add(rule.group(1))
    assert fired == RULE_NAMES


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_clean_fixtures_pass(path):
    assert _check(path.read_bytes(), path) == []


# PowerShell 7 forms the tree-sitter grammar does not parse: ps1_check fails them as a syntax
# error before the language rules run (they need a tree that parsed).
@pytest.mark.parametrize("source", [
    "$x = $a ? 1 : 2\n",
    "$x = $a ?? 'default'\n",
    "$a ??= 'default'\n",
    "$x = ${a}?.Name\n",
    "$x = ${a}?[0]\n",
    "function f { process { $_ } clean { 'done' } }\n",
], ids=["ternary", "null-coalescing", "null-coalescing-assignment", "null-conditional-member",
        "null-conditional-index", "clean-block"])
def test_powershell_7_operators_fail_as_syntax_errors(source):
    messages = [p.message for p in ps1_check.problems(source.encode())]
    assert any(m.startswith("syntax error") for m in messages), messages


def test_the_shipped_defects_fail_the_checker_with_file_line_and_column():
    """iis_log_scan.ps1 opened its log with StreamReader(path); defender_exclusion.ps1 stored
    Get-PolicyExclusion's unrolled array in its state (issue 12)."""
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "ps1_check.py"),
                          str(FIXTURES / "bad_file_share.ps1"), str(FIXTURES / "bad_collection_return.ps1")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert f"{FIXTURES / 'bad_file_share.ps1'}:6:15: [file-share] [IO.StreamReader] on a path" in run.stdout
    assert f"{FIXTURES / 'bad_collection_return.ps1'}:26:1: [collection-return] Get-PolicyValue" in run.stdout
    assert "Write @(Get-PolicyValue -Key 'HKLM:\\SOFTWARE\\x') here, or return ,@(...) in Get-PolicyValue" in run.stdout


def test_data_comes_from_powershell_docs_and_holds_what_the_rules_rely_on():
    data = json.loads(ps1_language_rules.DATA.read_text(encoding="utf-8"))
    assert data["source"].startswith("MicrosoftDocs/PowerShell-Docs@")
    assert {"?": "Where-Object", "%": "ForEach-Object", "gci": "Get-ChildItem", "sc": "Set-Content",
            "curl": "Invoke-WebRequest", "h": "Get-History"}.items() <= data["aliases"].items()
    assert {"Test-Json", "Get-Error", "Remove-Alias", "Join-String"} <= set(data["cmdlets_7_only"])
    seven = data["parameters_7_only"]
    assert {"AsHashtable", "Depth", "NoEnumerate"} <= set(seven["ConvertFrom-Json"]["parameters_7_only"])
    assert {"Parallel", "ThrottleLimit"} <= set(seven["ForEach-Object"]["parameters_7_only"])
    assert "AdditionalChildPath" in seven["Join-Path"]["parameters_7_only"]


@pytest.mark.parametrize("source", [
    "ConvertTo-Json -InputObject @{ a = 1 } -Depth 5\n",  # -Depth of ConvertTo-Json is 5.1
    "Get-ChildItem -LiteralPath 'C:\\' -Recurse -Depth 1 -File\n",
    "Get-Content -LiteralPath 'C:\\a' -Encoding Byte -ReadCount 0\n",
    "Get-Process -ErrorAction SilentlyContinue -ev problems\n",  # common parameters and their aliases
    "Start-Process -FilePath 'w32tm.exe' -ArgumentList '/resync' -Wait -NoNewWindow\n",
    "Join-Path -Path 'C:\\' -ChildPath 'a' -Resolve\n",
])
def test_windows_powershell_51_parameters_are_not_reported(source):
    assert _check(source.encode()) == []


def test_count_and_foreach_on_an_unrolled_result_are_not_reported():
    """$null.Count is 0 and a single item's .Count is 1 since PowerShell 3.0 (no strict mode under
    Ansible), and foreach over $null runs zero times: correct on Windows PowerShell 5.1."""
    source = ("function Get-Many { @(1, 2) }\n$many = Get-Many\n"
              "if ($many.Count -gt 1) { foreach ($one in $many) { $one } }\n")
    assert _check(source.encode()) == []


def test_script_level_variables_are_visible_in_functions_defined_before_them():
    """The host modules read $module in functions; it is assigned at script level before they run."""
    source = "function Get-Phase { $module.Params.phase }\n$module = @{ Params = @{ phase = 'gather' } }\nGet-Phase\n"
    assert _check(source.encode()) == []


# Correct Windows PowerShell 5.1 code from ansible.windows modules that earlier drafts of the rules
# reported (win_path, win_stat, win_copy, win_dns_zone, win_updates, win_user_profile).
@pytest.mark.parametrize("source", [
    # a loop that returns its first match is not a collection; $idx++ writes nothing
    "function Get-Index ($list, $value) {\n    $idx = 0\n    foreach ($el in $list) {\n"
    "        if ($el -eq $value) { return $idx }\n        $idx++\n    }\n    return -1\n}\n"
    "$r = @{}\n$r.index = Get-Index @(1) 1\n",
    # $a, $b = f takes the items apart on purpose
    "function Get-Pair { return 'a', 'b' }\n$first, $second = Get-Pair\n$r = @{ a = $first }\n",
    # void method calls in a loop write nothing
    "function Get-Size {\n    $queue = [System.Collections.Generic.Queue[object]]::new()\n    $size = 0\n"
    "    foreach ($e in @(1)) { $queue.Enqueue($e); $size += 1 }\n    $size\n}\n$r = @{}\n$r.size = Get-Size\n",
    # a trap runs on an error anywhere after it
    "function Invoke-Main {\n    trap { if ($api) { $api.Dispose() } }\n"
    "    $api = [System.IO.MemoryStream]::new()\n}\n",
    # $IsWindows next to a version test is right on 5.1 and 7
    "if ($IsWindows -or $PSVersionTable.PSVersion -lt '6.0') { Get-Date }\n",
    # a method call in command mode is one argument
    "$raw = 'C:\\Users'\n$p = Join-Path -Path $raw.ToString() -ChildPath 'x'\n",
])
def test_correct_51_code_found_in_ansible_windows_is_not_reported(source):
    assert _check(source.encode()) == []
