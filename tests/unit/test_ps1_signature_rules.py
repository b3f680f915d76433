"""ps1_check's cmdlet-signature and native-command rules (tests/tools/ps1_signature_rules.py).

Each firing fixture under tests/fixtures/ps1_check/signatures/ marks every line the rules must
report with `# expect: <fragment>` (several on one line when the line has several problems);
clean fixtures (good_*) must pass. The reference data (tests/tools/ps1_signatures/) is checked
for the provenance every entry must carry.
"""

import json
import pathlib
import re
import time

import ps1_check
import ps1_fixtures
import ps1_signature_rules
import ps1_signatures_build
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ps1_check" / "signatures"
DATA = ROOT / "tests" / "tools" / "ps1_signatures"
BAD = sorted(FIXTURES.glob("bad_*.ps1"))
GOOD = sorted(FIXTURES.glob("good_*.ps1"))
SHIPPED = sorted((ROOT / "plugins" / "modules").glob("*.ps1")) + sorted(
    (ROOT / "plugins" / "module_utils").glob("*.psm1"))


def _check(source: str, path=None) -> list:
    root = ps1_check.PARSER.parse(source.encode()).root_node
    assert not root.has_error
    return ps1_signature_rules.check(root, path)


def _messages(source: str) -> list:
    return [p.message for p in _check(source)]


def test_there_are_fixtures():
    assert len(BAD) >= 9 and len(GOOD) >= 9


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_firing_fixture_reports_each_marked_line_and_nothing_else(path):
    problems = _check(path.read_text(encoding="utf-8"), path)
    marked = {line for line, _fragment in ps1_fixtures.expected(path)}
    assert [str(p) for p in problems if p.line not in marked] == []
    ps1_fixtures.assert_reports_exactly_the_marked_lines(problems, path)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_clean_fixture_passes(path):
    assert [str(p) for p in _check(path.read_text(encoding="utf-8"), path)] == []


def test_rules_run_inside_ps1_check():
    path = FIXTURES / "bad_mpcmdrun_restore_folder.ps1"
    messages = [p.message for p in ps1_check.problems(path.read_bytes(), path)]
    assert any("-FilePath names a file but gets a folder" in m for m in messages)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_call_cmdlets_and_native_commands_as_documented(path):
    assert [str(p) for p in _check(path.read_text(encoding="utf-8-sig"), path)] == []


def test_signature_check_of_all_shipped_files_is_fast():
    start = time.perf_counter()
    for path in SHIPPED:  # parsing included; the reference loads once per process
        ps1_signature_rules.check(ps1_check.PARSER.parse(path.read_bytes()).root_node, path)
    assert time.perf_counter() - start < 2.0


# --- how PowerShell binds names, as the rule models it --------------------------------------------

def test_exact_name_wins_over_a_longer_parameter_it_prefixes():
    # Where-Object has -Is and -IsNot, -In and -Include is not there: -Is is exact.
    assert _messages("$a = @(1 | Where-Object -Property Name -Is -Value 'x')") == []


def test_alias_and_module_qualified_name_resolve():
    assert _messages("$f = Microsoft.PowerShell.Management\\Get-ChildItem -LiteralPath 'C:\\x' -s -af") == []


def test_switch_does_not_take_the_next_word_as_its_value():
    # -Parent is a switch: 'C:\x\y' is the positional -Path, not a value of -Parent.
    assert _messages("$p = Split-Path -Parent 'C:\\x\\y'") == []


def test_colon_value_on_a_switch_and_common_parameters_everywhere():
    assert _messages("$i = Get-Item -LiteralPath 'C:\\x' -Force:$false -ErrorAction Stop -Verbose") == []


def test_piped_command_may_omit_a_mandatory_parameter():
    assert _messages("Get-ChildItem -LiteralPath 'C:\\x' | Remove-Item") == []
    assert "missing mandatory" in " ".join(_messages("Remove-Item"))


def test_method_call_argument_is_one_argument():
    assert _messages("param($s)\n$o = ConvertFrom-Json -InputObject $s.Substring(25)") == []


def test_splat_keys_added_later_are_not_checked_or_bound():
    source = ("function F {\n param($x)\n $p = @{ Name = 'a' }\n"
              " if ($x) { $p.SkipEditionCheck = $true }\n Import-Module @p\n}\n")
    assert _messages(source) == []


def test_module_util_functions_come_with_the_utils_that_require_them():
    # Any C# util brings Ansible.ModuleUtils.AddType; LinkUtil requires PrivilegeUtil (ansible-core).
    assert _messages("#AnsibleRequires -CSharpUtil Ansible.Basic\nAdd-CSharpType -References 'x'") == []
    assert _messages("#Requires -Module Ansible.ModuleUtils.LinkUtil\n$p = Get-AnsiblePrivilege -Name 'x'") == []
    assert "add #Requires -Module Ansible.ModuleUtils.CommandUtil" in " ".join(
        _messages("#Requires -Module Ansible.ModuleUtils.ArgvParser\n$o = Run-Command -command 'x.exe'"))


def test_only_exported_functions_of_a_collection_util_are_available():
    # MeddevHost.psm1 exports Invoke-MeddevHostModule only (Export-ModuleMember -Function).
    requires = "#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost\n"
    assert _messages(requires + "Invoke-MeddevHostModule -Spec @{} -Gather { 1 } -Apply { 2 }") == []
    assert "unknown cmdlet Invoke-MeddevHostPhase" in " ".join(_messages(requires + "Invoke-MeddevHostPhase"))


def test_dynamic_parameters_of_other_providers_are_not_judged():
    # Set-Item on the RDS: drive has -SessionTimeoutAction; the FileSystem and registry have not.
    assert _messages("Set-Item -LiteralPath 'RDS:\\GatewayServer\\x' -Value 1 -SessionTimeoutAction 0") == []
    assert "no parameter -SessionTimeoutAction" in " ".join(
        _messages("Set-Item -LiteralPath 'HKLM:\\SOFTWARE\\x' -Value 1 -SessionTimeoutAction 0"))


def test_ps6_only_parameters_are_unknown():
    assert "no parameter -AsHashtable" in " ".join(_messages("param($t)\n$o = ConvertFrom-Json $t -AsHashtable"))
    assert "no parameter -Parallel" in " ".join(_messages("1 | ForEach-Object -Parallel { $_ }"))


def test_native_option_with_a_computed_value_is_checked_by_its_name():
    messages = _messages("param($f)\n$a = @('auditpol.exe', '/restore', ('/files:{0}' -f $f))")
    assert any("option '/files' is not in its documented grammar" in m for m in messages)


# --- the reference data -----------------------------------------------------------------------------

def _entries():
    for path in sorted(DATA.glob("*.json")):
        if path.stem not in {"common", "native"}:
            yield from json.loads(path.read_text(encoding="utf-8")).items()


def test_every_cmdlet_entry_names_the_doc_it_came_from():
    entries = dict(_entries())
    assert len(entries) > 500
    for name, entry in entries.items():
        source = entry["source"]
        assert source["repo"] in {"MicrosoftDocs/PowerShell-Docs", "MicrosoftDocs/windows-powershell-docs"}, name
        assert source["path"].endswith(f"/{name}.md") and re.fullmatch(r"[0-9a-f]{40}", source["commit"]), name
        assert source["path"].startswith(("reference/5.1/", "docset/winserver2016-ps/")), name


def test_reference_covers_the_modules_the_host_modules_use():
    names = {name.lower() for name, _entry in _entries()}
    for cmdlet in ("Get-NetFirewallRule", "Set-NetFirewallProfile", "Get-NetFirewallPortFilter", "Get-MpPreference",
                   "Add-MpPreference", "Remove-MpThreat", "Get-MpThreatDetection", "Get-BitLockerVolume",
                   "Get-WindowsFeature", "Install-WindowsFeature", "Enable-WindowsOptionalFeature", "Get-CimInstance",
                   "Get-WinEvent", "Get-Acl", "Set-Acl", "Get-FileHash", "ConvertTo-Json", "ForEach-Object",
                   "Register-ScheduledTask", "Get-HotFix", "Restart-Computer", "Invoke-WebRequest"):
        assert cmdlet.lower() in names, cmdlet


def test_common_parameters_are_those_of_windows_powershell_5_1():
    common = json.loads((DATA / "common.json").read_text(encoding="utf-8"))
    assert "ProgressAction" not in common["params"]  # PowerShell 7.4
    assert "Break" not in common["params"]["ErrorAction"]["values"]  # PowerShell 7
    assert common["params"]["ErrorAction"]["aliases"] == ["ea"]
    assert set(common["should_process"]) == {"WhatIf", "Confirm"}


def test_native_grammar_names_its_microsoft_page():
    programs = json.loads((DATA / "native.json").read_text(encoding="utf-8"))["programs"]
    assert set(programs) == {"secedit", "auditpol", "mpcmdrun", "w32tm", "shutdown"}
    for program, grammar in programs.items():
        for command, spec in grammar["commands"].items():
            source = spec.get("source") or grammar["source"]
            assert source["learn"].startswith("https://learn.microsoft.com/"), (program, command)
            assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), (program, command)
            assert spec["usage"] and set(spec["required"]) <= set(spec["options"]), (program, command)
    restore = programs["mpcmdrun"]["commands"]["-restore"]["options"]
    assert restore["-filepath"]["kind"] == "file" and restore["-path"]["kind"] == "folder"


# --- the generator, on a page written like Microsoft's --------------------------------------------

PAGE = """# Get-Thing

## SYNTAX

### Path (Default) - FileSystem provider

```
Get-Thing [-Path] <String[]> [[-Filter] <String>] [-Stream <String[]>] [-Force] [<CommonParameters>]
```

### Path (Default) - All providers

```
Get-Thing [-Path] <String[]> [[-Filter] <String>] [-Force] [<CommonParameters>]
```

### LiteralPath - All providers

```
Get-Thing -LiteralPath <String[]> [[-Filter] <String>] [-Force] [<CommonParameters>]
```

## DESCRIPTION

## PARAMETERS

### -Filter

```yaml
Type: System.String
Parameter Sets: (All)
Aliases:
Position: 1
```

### -Force

```yaml
Type: System.Management.Automation.SwitchParameter
Parameter Sets: (All)
Aliases:
```

### -Stream

> [!NOTE]
> This parameter is only available in the [FileSystem](x.md) provider.

```yaml
Type: System.String[]
Parameter Sets: Path
Aliases:
Accepted values: Data, Zone
```

### -Parallel

This parameter was introduced in
PowerShell 7.0.

```yaml
Type: System.Management.Automation.SwitchParameter
Parameter Sets: (All)
```

## INPUTS
"""


def test_generator_reads_syntax_blocks_and_parameter_sections():
    entry = ps1_signatures_build.cmdlet_entry(PAGE, "Get-Thing", {"repo": "r", "path": "p", "commit": "c"})
    assert entry["sets"] == ["LiteralPath", "Path"] and entry["default_set"] == "Path"
    params = entry["params"]
    assert params["Path"]["sets"] == {"Path": {"position": 0, "mandatory": True}}
    assert params["LiteralPath"]["sets"] == {"LiteralPath": {"position": None, "mandatory": True}}
    assert params["Filter"]["sets"] == {"*": {"position": 1, "mandatory": False}}
    assert params["Force"]["switch"] and not params["Path"]["switch"]
    assert params["Stream"]["values"] == ["Data", "Zone"] and params["Stream"]["provider"] == "FileSystem"
    assert set(params["Stream"]["sets"]) == {"*"}  # a provider's dynamic parameter joins every set
    assert "Parallel" not in params and entry["common_parameters"]
