"""The PowerShell checker: it must catch what it claims to, and pass every shipped .ps1/.psm1."""

import pathlib
import re
import subprocess
import sys

import ps1_check
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tests" / "tools" / "ps1_check.py"
PS1_FILES = sorted((ROOT / "plugins" / "modules").glob("*.ps1"))
PSM1_FILES = sorted((ROOT / "plugins" / "module_utils").glob("*.psm1"))
# What baseline.ps1 and iqwebx_licgen.ps1 declare before they run external programs.
ARGV = "#Requires -Module Ansible.ModuleUtils.ArgvParser\n#Requires -Module Ansible.ModuleUtils.CommandUtil\n"


def _messages(source: str) -> str:
    return " | ".join(str(p) for p in ps1_check.problems(source.encode())).lower()


def test_there_are_host_modules_to_check():
    assert PS1_FILES


@pytest.mark.parametrize("path", PS1_FILES + PSM1_FILES, ids=lambda p: p.name)
def test_shipped_modules_parse_and_run_no_dynamic_code(path):
    assert [str(p) for p in ps1_check.problems(path.read_bytes(), path)] == []


# (rule, PowerShell that must be reported, fragment of the message)
BAD = [
    ("syntax", "if ($x { 'a' }", "syntax error"),
    ("syntax", "$h = @{ a = 1\n", "syntax error"),
    ("iex", "Invoke-Expression $module.Params.path", "Invoke-Expression"),
    ("iex", 'IEX "Get-Item $p"', "IEX"),
    ("iex", "invoke-EXPRESSION -Command $c", "runs a string as code"),
    ("iex", "Microsoft.PowerShell.Utility\\Invoke-Expression $c", "Invoke-Expression"),
    ("iex", "& 'Invoke-Expression' $c", "Invoke-Expression"),
    ("iex", '. "iex" $c', "iex"),
    ("iex", "Set-Alias -Name run -Value Invoke-Expression", "named as an argument"),
    ("scriptblock", "$sb = [ScriptBlock]::Create($cmd)", "[scriptblock]::Create"),
    ("scriptblock", "$sb = [scriptblock]::create('Get-Date')", "[scriptblock]::Create"),
    ("scriptblock", "[System.Management.Automation.ScriptBlock]::Create($c)", "[scriptblock]::Create"),
    ("scriptblock", "[Management.Automation.ScriptBlock]::'Create'($c)", "[scriptblock]::Create"),
    ("members", "$ExecutionContext.InvokeCommand.ExpandString($s)", ".ExpandString"),
    ("members", "$ExecutionContext.InvokeCommand.InvokeScript($s)", ".InvokeScript"),
    ("members", "$sb = $ExecutionContext.InvokeCommand.NewScriptBlock($s)", ".NewScriptBlock"),
    ("members", "$ic = $ExecutionContext.InvokeCommand\n$ic.expandstring($s)", ".expandstring"),
    ("members", "[powershell]::Create().AddScript($s).Invoke()", ".AddScript"),
    ("members", "$ps.'AddScript'($s)", ".AddScript"),
    ("method name", "$ExecutionContext.InvokeCommand.$name($s)", "method name computed"),
    ("call operator", "& $module.Params.command", "invocation operator"),
    ("call operator", "& $exe /quiet", "invocation operator"),
    ("call operator", '& "$exe $arguments"', "invocation operator"),
    ("call operator", '& "$env:SystemRoot\\System32\\sc.exe" stop x', "invocation operator"),
    ("call operator", ". ('Get-' + $verb)", "invocation operator"),
    ("call operator", "& ('{0}.exe' -f $name)", "invocation operator"),
    ("call operator", "& (Get-Command $name) -Force", "invocation operator"),
    ("call operator", ". $helper", "invocation operator"),
    ("call operator", "tool$suffix /a", "command name computed"),
    ("call operator", "Function F {\n    param([string] $Code)\n    & $Code\n}", "invocation operator"),
    ("call operator", "Function F {\n    param([scriptblock] $Code)\n    $Code = $text\n    & $Code\n}",
     "invocation operator"),
    ("job", "Invoke-Command -ScriptBlock $sb", "not a literal"),
    ("job", "Invoke-Command -ComputerName h -ScriptBlock:$sb", "not a literal"),
    ("job", "icm -sc ([scriptblock]::Create($s))", "not a literal"),
    ("job", "Invoke-Command -Command $sb", "not a literal"),
    ("job", "Start-Job -ScriptBlock $ExecutionContext.InvokeCommand.NewScriptBlock($s)", "not a literal"),
    ("job", "Start-Job -InitializationScript $init -ScriptBlock { 1 }", "not a literal"),
    ("job", "Start-Job $sb", "not written literally"),
    ("job", "Invoke-Command @jobParams", "not written literally"),
    ("shell", 'cmd /c "dir $path"', "cmd /c followed by data"),
    ("shell", "cmd.exe /C type $file", "cmd /C followed by data"),
    ("shell", "cmd /c dir$path", "followed by data"),
    ("shell", "& 'C:\\Windows\\System32\\cmd.exe' /k $line", "cmd /k followed by data"),
    ("shell", "powershell -NoProfile -Command $script", "powershell -Command followed by data"),
    ("shell", 'pwsh.exe -c "Get-Item $p"', "pwsh -c followed by data"),
    ("shell", "powershell -EncodedCommand $encoded", "-EncodedCommand followed by data"),
    ("shell", "powershell.exe -enc $encoded", "-enc followed by data"),
    ("shell", "Start-Process -FilePath cmd.exe -ArgumentList '/c', $line -Wait", "cmd /c followed by data"),
    ("shell", ARGV + "$c = Argv-ToString -arguments @('cmd.exe', '/c', $line)", "cmd /c followed by data"),
    ("shell", ARGV + "Run-Command (Argv-ToString @('powershell', '-Command', $s))", "-Command followed by data"),
    ("shell", "[Diagnostics.Process]::Start('cmd.exe', \"/c $line\")", "built from data"),
    ("start-process", 'Start-Process -FilePath msiexec.exe -ArgumentList "/i $msi /qn"', "Start-Process -ArgumentList"),
    ("start-process", "Start-Process msiexec.exe ('/i ' + $msi)", "Start-Process -ArgumentList"),
    ("start-process", "saps msiexec.exe -Args ('/i {0} /qn' -f $msi) -Wait", "Start-Process -ArgumentList"),
    ("start-process", "Start-Process -FilePath msiexec.exe -ArgumentList @('/i', $msi)", "built from data"),
    ("start-process", "Start-Process msiexec.exe '/i', $msi, '/qn' -Wait", "built from data"),
    ("start-process", "Start-Process -Wait -FilePath x.exe -ArgumentList $line", "built from data"),
    ("start-process", "Start-Process @startParams", "splatted"),
    ("start-process", ARGV + "Start-Process -FilePath x.exe -ArgumentList $line", "built from data"),
    ("process.start", '[System.Diagnostics.Process]::Start("x.exe", "/a $v")', "::Start arguments"),
    ("process.start", "[Diagnostics.Process]::Start('x.exe', $line)", "built from data"),
    ("process.start", "[Ansible.Process.ProcessUtil]::CreateProcess($null, \"x.exe $v\", $null, $null)",
     "CreateProcess"),
    ("startinfo", '$psi = New-Object System.Diagnostics.ProcessStartInfo\n$psi.Arguments = "/a $v"',
     "ProcessStartInfo.Arguments"),
    ("startinfo", "$psi.Arguments = '/a ' + $v", "ProcessStartInfo.Arguments"),
    ("startinfo", "$psi.Arguments = '/a {0}' -f $v", "ProcessStartInfo.Arguments"),
    ("startinfo", '[System.Diagnostics.ProcessStartInfo]::new("x.exe", "/a $v")', "built from data"),
    ("startinfo", "New-Object -TypeName System.Diagnostics.ProcessStartInfo -ArgumentList 'x.exe', \"/a $v\"",
     "ProcessStartInfo arguments"),
    ("startinfo", 'New-Object Diagnostics.ProcessStartInfo("x.exe", "/a $v")', "ProcessStartInfo arguments"),
    ("startinfo", 'New-Object System.Diagnostics.ProcessStartInfo -Property @{ Arguments = "/a $v" }',
     "ProcessStartInfo.Arguments"),
    ("startinfo", '$psi = [System.Diagnostics.ProcessStartInfo]@{ FileName = "x"; Arguments = "/a $v" }',
     "ProcessStartInfo.Arguments"),
    ("run-command", 'Run-Command -command "secedit.exe /export /cfg $inf"', "Run-Command -command"),
    ("run-command", 'Run-Command "auditpol.exe /get /category:$c"', "Run-Command -command"),
    ("run-command", "Run-Command -command (\"{0} /x\" -f $exe)", "Run-Command -command"),
    ("run-command", "Run-Command @runParams", "splatted"),
    ("argv-tostring", "Run-Command -command (Argv-ToString -arguments @('x.exe', $v))", "does not #requires"),
    ("argv-tostring", ARGV + "function Argv-ToString {\n    param($arguments)\n    $arguments -join ' '\n}\n"
     "Run-Command -command (Argv-ToString -arguments @('x.exe', $v))", "defines its own"),
    ("argv-tostring", ARGV + "function Invoke-Tool {\n    param([string]$Line)\n    Run-Command -command $Line\n}",
     "Run-Command -command"),
    ("argv-tostring", ARGV + "function Invoke-Tool {\n    param($Value)\n"
     "    $line = Argv-ToString -arguments @('x.exe', $Value)\n    $line += \" /extra $Value\"\n"
     "    Run-Command -command $line\n}", "Run-Command -command"),
    ("argv-tostring", ARGV + "function Invoke-Tool {\n    param($Value)\n"
     "    $line = Argv-ToString -arguments @('x.exe', $Value)\n    if ($Value) { [string]$line = \"x.exe $Value\" }\n"
     "    Run-Command -command $line\n}", "Run-Command -command"),
    ("add-type", 'Add-Type -TypeDefinition "public class X { $body }"', "Add-Type"),
    ("add-type", "Add-Type -MemberDefinition $signature -Name Native -Namespace W", "Add-Type"),
]

# (rule, the safe equivalent that must pass)
GOOD = [
    ("iex", "# Invoke-Expression is never used; neither is iex\n$text = 'Invoke-Expression $x'"),
    ("iex", "Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue"),
    ("scriptblock", "$items | Where-Object { $_.Name -like 'x*' } | ForEach-Object { $_.Id }"),
    ("scriptblock", "$sha = [System.Security.Cryptography.SHA256]::Create()"),
    ("members", "$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)\n$module.ExitJson()"),
    ("members", "$h.$key\n$h.$key = 1"),
    ("call operator", "& Get-Item -Path $p\n$x = @{ a = 1 }\n"),
    ("call operator", "Function F {\n    param([Parameter(Mandatory = $true)] [scriptblock] $Gather)\n"
                      "    $state = & $Gather\n}"),
    ("call operator", "& 'C:\\Program Files\\Tool\\tool.exe' /quiet $value --name $other"),
    ("call operator", '& "C:\\Tools\\tool.exe" /a $value'),
    ("call operator", "& C:\\Tools\\tool.exe /a $value"),
    ("call operator", "& { param($p) Get-Item $p } $path"),
    ("call operator", ". .\\helpers.ps1"),
    ("call operator", "Add-MpPreference @params -ErrorAction Stop"),
    ("job", "Invoke-Command -ComputerName h -ScriptBlock { param($p) Get-Item $p } -ArgumentList $path"),
    ("job", "Invoke-Command -ComputerName h { Get-Date }"),
    ("job", "Start-Job -ScriptBlock { Get-Date } -InitializationScript { Import-Module X }"),
    ("job", "Start-Job -FilePath C:\\jobs\\x.ps1 -ArgumentList $a"),
    ("shell", "cmd /c ver"),
    ("shell", "cmd.exe /c 'dir /b'"),
    ("shell", "powershell -NoProfile -Command 'Get-Date'"),
    ("shell", "powershell -NoProfile -Command { Get-Item $p }"),
    ("shell", "pwsh -NoProfile -File C:\\scripts\\x.ps1 $argument"),
    ("shell", "& tool.exe /c $value"),
    ("start-process", "Start-Process -FilePath w32tm.exe -ArgumentList '/resync', '/nowait' -Wait"),
    ("start-process", "Start-Process -FilePath $exe -Wait -NoNewWindow"),
    ("start-process", "Start-Process -FilePath notepad.exe -ArgumentList \"C:\\x.txt\""),
    ("start-process", ARGV + "Start-Process -FilePath x.exe -ArgumentList (Argv-ToString -arguments @('/a', $v))"),
    ("process.start", "[Diagnostics.Process]::Start('x.exe', '/a /b')\n[Diagnostics.Process]::Start($psi)"),
    ("process.start", ARGV + "[Diagnostics.Process]::Start($exe, (Argv-ToString -arguments @('/a', $v)))"),
    ("startinfo", "$psi.Arguments = '/a /b'\n$psi.ArgumentList.Add($value)\n$h = @{ Arguments = \"/a $v\" }"),
    ("startinfo", ARGV + "$psi.Arguments = Argv-ToString -arguments @('/a', $v)"),
    ("run-command", ARGV + "Run-Command -command 'auditpol.exe /get /category:* /r'"),
    # baseline.ps1: the list is built by the caller, quoted by Argv-ToString in the call.
    ("argv-tostring", ARGV + "function Invoke-Tool {\n    param([string[]]$Arguments)\n"
     "    $outcome = Run-Command -command (Argv-ToString -arguments $Arguments)\n    $outcome.stdout\n}\n"
     "$null = Invoke-Tool -Arguments @('secedit.exe', '/export', '/cfg', $inf, '/quiet')"),
    # iqwebx_licgen.ps1: quoted into a variable first, inside a switch clause.
    ("argv-tostring", ARGV + "$mpCmdRun = 'MpCmdRun.exe'\n"
     "function Invoke-Change {\n    param($Change)\n    switch ($Change.kind) {\n"
     "        'restore' {\n            $command = Argv-ToString -arguments @($mpCmdRun, '-Restore', '-Name', "
     "$Change.threat)\n            $outcome = Run-Command -command $command\n        }\n    }\n}"),
    ("argv-tostring", "#AnsibleRequires -PowerShell Ansible.ModuleUtils.ArgvParser\n"
     "#AnsibleRequires -PowerShell Ansible.ModuleUtils.CommandUtil\n"
     "Run-Command -command (Argv-ToString -arguments @($exe, '/x', $value))"),
    ("add-type", "Add-Type -TypeDefinition @'\npublic class X { }\n'@\nAdd-Type -AssemblyName System.Web"),
]


@pytest.mark.parametrize(("rule", "source", "expected"), BAD, ids=[f"{sample[0]}-{i}" for i, sample in enumerate(BAD)])
def test_bad_sources_are_reported(rule, source, expected):
    found = _messages(source)
    assert expected.lower() in found, (rule, found)


@pytest.mark.parametrize(("rule", "source"), GOOD, ids=[f"{sample[0]}-{i}" for i, sample in enumerate(GOOD)])
def test_safe_equivalents_pass(rule, source):
    assert _messages(source) == "", rule


def test_every_rule_has_a_good_and_a_bad_sample():
    bad_rules = {sample[0] for sample in BAD} - {"syntax", "method name"}
    assert bad_rules <= {sample[0] for sample in GOOD}


def test_problems_carry_line_and_column():
    found = ps1_check.problems(b"$a = 1\n  & $cmd\n")
    assert [(p.line, p.col) for p in found] == [(2, 3)]
    assert str(found[0]).startswith("2:3: ")


def test_cli_reports_path_line_col_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.ps1"
    bad.write_text("$x = 1\nInvoke-Expression $x\n")
    good = tmp_path / "good.psm1"
    good.write_text("function Get-X {\n    param($p)\n    Get-Item -LiteralPath $p\n}\n")
    assert ps1_check.main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"{good}: ok" in out
    assert [line for line in out if line.startswith(str(bad))] == [
        f"{bad}:2:1: dynamic code: Invoke-Expression runs a string as code"]


def test_cli_checks_psm1_with_the_same_rules(tmp_path, capsys):
    util = tmp_path / "Shared.psm1"
    util.write_text("function Invoke-Tool {\n    param($Line)\n    & $Line\n}\n")
    assert ps1_check.main([str(util)]) == 1
    assert re.fullmatch(r".*Shared\.psm1:3:5: dynamic code: invocation operator.*", capsys.readouterr().out.strip())


@pytest.mark.parametrize("name", ["notes.txt", "missing.ps1"])
def test_cli_fails_on_other_or_missing_files(tmp_path, capsys, name):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("Get-Date\n")
    assert ps1_check.main([str(path)]) == 1
    assert re.fullmatch(rf"{re.escape(str(path))}:1:1: .+", capsys.readouterr().out.strip())


def test_cli_without_files_is_an_error():
    assert ps1_check.main([]) != 0


def test_cli_exit_status_as_a_program(tmp_path):
    bad = tmp_path / "bad.ps1"
    bad.write_text("& $cmd\n")
    good = tmp_path / "good.ps1"
    good.write_text("Get-Date\n")
    run = [sys.executable, str(CHECKER)]
    assert subprocess.run([*run, str(good)], capture_output=True, check=False).returncode == 0
    result = subprocess.run([*run, str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{bad}:1:1: ")
