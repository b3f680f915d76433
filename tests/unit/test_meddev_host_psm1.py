"""MeddevHost.psm1, the shared apply tail of the .ps1 modules, read as a reviewer would.

No PowerShell runs here: these checks pin the two behaviours the twin (winsim.run_host_module,
tests/unit/test_winsim.py) cannot show - the host mutex's ACL and a final gather that throws.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PSM1 = ROOT / "plugins/module_utils/MeddevHost.psm1"


def code() -> str:
    """The module without comments (# lines and <# #> blocks)."""
    text = re.sub(r"<#.*?#>", "", PSM1.read_text(encoding="utf-8"), flags=re.S)
    return "\n".join(line.split(" # ")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))


def function(name: str) -> str:
    body = code()
    start = body.index(f"Function {name} {{")
    end = body.find("\nFunction ", start + 1)
    return body[start:end if end > 0 else len(body)]


def test_the_host_mutex_grants_administrators_and_system_full_control():
    opener = function("Open-MeddevHostLock")
    assert "[System.Security.AccessControl.MutexSecurity]::new()" in opener
    assert re.search(r"foreach \(\$sid in @\('S-1-5-32-544', 'S-1-5-18'\)\)", opener)
    assert "[System.Security.AccessControl.MutexRights]::FullControl" in opener
    assert "[System.Security.AccessControl.AccessControlType]::Allow" in opener
    assert re.search(r"\[System\.Threading\.Mutex\]::new\(\$false, \$script:HostLockName, \[ref\]\$createdNew, "
                     r"\$security\)", opener)
    assert "New-Object -TypeName System.Threading.Mutex" not in code()  # the default-DACL constructor


def test_an_existing_mutex_without_full_control_is_opened_for_waiting_or_refused_clearly():
    opener = function("Open-MeddevHostLock")
    assert opener.count("catch [System.UnauthorizedAccessException]") == 2
    assert "[System.Threading.Mutex]::OpenExisting($script:HostLockName, $rights)" in opener
    assert re.search(r"MutexRights\]::Synchronize -bor \[System\.Security\.AccessControl\.MutexRights\]::Modify",
                     opener)
    caller = function("Invoke-MeddevHostModule")
    assert re.search(r"\$lock = Open-MeddevHostLock\s+if \(\$null -eq \$lock\) \{\s+\$Module\.Result\.applied = 0\s+"
                     r"\$Module\.FailJson\(", caller)
    assert "may not wait on it" in caller and "nothing was changed" in caller


def test_a_final_gather_that_throws_still_reports_applied_and_changed():
    phase = function("Invoke-MeddevHostPhase")
    tail = phase[phase.index("foreach ($change in $Module.Params.changes)"):]
    tail = tail[tail.index("$Module.Result.changed = $true"):]
    assert re.search(r"try \{\s+\$state = & \$Gather\s+\}\s+catch \{\s+\$Module\.FailJson\(", tail)
    assert "change(s) were applied, but the state after them could not be read" in tail
    # The count and the flag are in Result before the gather, so FailJson carries them.
    assert tail.index("$Module.Result.changed = $true") < tail.index("$state = & $Gather")
    assert re.search(r"\$Module\.Result\.state = \$state\s+\$Module\.ExitJson\(\)", tail)


def test_a_lock_failure_reports_nothing_applied_as_the_twin_does():
    """winsim.run_host_module fails every refused execution with applied=0 (the apply_result schema)."""
    body = function("Invoke-MeddevHostModule")
    failures = [m.start() for m in re.finditer(r"\$Module\.FailJson\(", body)]
    assert len(failures) == 2  # may not wait on the lock; waited too long
    for at in failures:
        assert body[:at].rstrip().endswith("$Module.Result.applied = 0")
