"""The PowerShell checker: it must catch what it claims to, and pass every shipped .ps1."""

import pathlib

import ps1_check
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS1_FILES = sorted((ROOT / "plugins" / "modules").glob("*.ps1"))


def test_there_are_host_modules_to_check():
    assert PS1_FILES


@pytest.mark.parametrize("path", PS1_FILES, ids=lambda p: p.name)
def test_shipped_modules_parse_and_run_no_dynamic_code(path):
    assert ps1_check.problems(path.read_bytes()) == []


@pytest.mark.parametrize(("source", "expected"), [
    (b"if ($x { 'a' }", "syntax error"),
    (b"$h = @{ a = 1\n", "syntax error"),
    (b"Invoke-Expression $module.Params.path", "Invoke-Expression"),
    (b"IEX \"Get-Item $p\"", "IEX"),
    (b"$sb = [ScriptBlock]::Create($cmd)", "[scriptblock]::Create"),
    (b"& $module.Params.command", "invocation operator"),
    (b". ('Get-' + $verb)", "invocation operator"),
])
def test_bad_sources_are_reported(source, expected):
    found = ps1_check.problems(source)
    assert found and expected.lower() in " ".join(found).lower()


def test_literal_invocation_is_fine():
    assert ps1_check.problems(b"& Get-Item -Path $p\n$x = @{ a = 1 }\n") == []
