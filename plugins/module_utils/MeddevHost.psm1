# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The shared tail of the collection's host modules that change a host (docs/host-contract.md):
# one host lock per execution, then either gather, or apply the changes in order and return the
# state after them - after a failure too, so the controller can tell exactly what is still to do.
# The simulated side is winsim.run_host_module; keep the two in step.

# One name for every module of this collection: two runs against one host never interleave.
$script:HostLockName = 'Global\meddev.hardening.host'
# As long as winsim.LOCK_TIMEOUT_S.
$script:HostLockTimeoutSeconds = 300

Function Invoke-MeddevHostModule {
    <#
    .SYNOPSIS
    Runs one execution of a host module under the host lock: gather, or apply then gather.
    .PARAMETER Module
    The Ansible.Basic.AnsibleModule; its options hold phase and changes.
    .PARAMETER Gather
    Returns the module's state document. Code of the calling module, never built from options
    (PowerShell does not turn a string into a [scriptblock] parameter).
    .PARAMETER Apply
    Carries out one change (its only argument).
    #>
    param(
        [Parameter(Mandatory = $true)] $Module,
        [Parameter(Mandatory = $true)] [scriptblock] $Gather,
        [Parameter(Mandatory = $true)] [scriptblock] $Apply
    )
    $lock = Open-MeddevHostLock
    if ($null -eq $lock) {
        # Nothing was applied: say so with the count, as every failure of winsim.run_host_module does.
        $Module.Result.applied = 0
        $Module.FailJson(('the host lock {0} exists but this account may not wait on it (it was created ' +
                'by a run under another identity without access for Administrators); nothing was changed. ' +
                'Run as a member of Administrators or as SYSTEM, or again when the other run has ' +
                'ended') -f $script:HostLockName)
    }
    try {
        $acquired = $lock.WaitOne([TimeSpan]::FromSeconds($script:HostLockTimeoutSeconds))
    }
    catch [System.Threading.AbandonedMutexException] {
        # A run died holding the lock. Its writes were atomic, so the state is whole: go on.
        $acquired = $true
    }
    if (-not $acquired) {
        $Module.Result.applied = 0
        $Module.FailJson(('another run holds the host lock (waited {0} s); nothing was changed, ' +
                'run again when it has finished') -f $script:HostLockTimeoutSeconds)
    }
    # ExitJson/FailJson end the script; finally still runs, and process exit frees the mutex anyway.
    try {
        Invoke-MeddevHostPhase -Module $Module -Gather $Gather -Apply $Apply
    }
    finally {
        $lock.ReleaseMutex()
        $lock.Dispose()
    }
}

Function Open-MeddevHostLock {
    <#
    .SYNOPSIS
    Opens (or creates) the host mutex so that every administrator identity can wait on it; $null if
    it exists with an ACL that does not let this identity wait on it and release it.
    #>
    # The default DACL of a named mutex comes from its creator's token, so a run under another
    # identity (a second engineer, the nightly job as SYSTEM) got UnauthorizedAccessException
    # instead of waiting. Administrators (S-1-5-32-544) and SYSTEM (S-1-5-18) get FullControl.
    # Mutex(Boolean, String, out Boolean, MutexSecurity), MutexAccessRule, MutexRights: .NET
    # Framework 2.0-4.8 (dotnet-api-docs xml/System.Threading/Mutex.xml,
    # xml/System.Security.AccessControl/MutexAccessRule.xml).
    $security = [System.Security.AccessControl.MutexSecurity]::new()
    foreach ($sid in @('S-1-5-32-544', 'S-1-5-18')) {
        $rule = [System.Security.AccessControl.MutexAccessRule]::new(
            [System.Security.Principal.SecurityIdentifier]::new($sid),
            [System.Security.AccessControl.MutexRights]::FullControl,
            [System.Security.AccessControl.AccessControlType]::Allow)
        $security.AddAccessRule($rule)
    }
    $createdNew = $false
    $lock = $null
    try {
        # If the mutex exists its ACL stays as it is, and this constructor needs FullControl on it.
        $lock = [System.Threading.Mutex]::new($false, $script:HostLockName, [ref]$createdNew, $security)
    }
    catch [System.UnauthorizedAccessException] {
        # Open it with only what a waiter needs: WaitOne needs Synchronize, ReleaseMutex needs Modify
        # (MutexAccessRule remarks). Mutex.OpenExisting(String, MutexRights): .NET Framework 2.0-4.8.
        $rights = [System.Security.AccessControl.MutexRights]::Synchronize -bor [System.Security.AccessControl.MutexRights]::Modify
        try {
            $lock = [System.Threading.Mutex]::OpenExisting($script:HostLockName, $rights)
        }
        catch [System.UnauthorizedAccessException] {
            $lock = $null
        }
    }
    return $lock
}

Function Invoke-MeddevHostPhase {
    param(
        [Parameter(Mandatory = $true)] $Module,
        [Parameter(Mandatory = $true)] [scriptblock] $Gather,
        [Parameter(Mandatory = $true)] [scriptblock] $Apply
    )
    if ($Module.Params.phase -eq 'gather') {
        $Module.Result.state = & $Gather
        $Module.ExitJson()
    }
    if ($Module.CheckMode) {
        $Module.FailJson('apply is never run in check mode')
    }
    $applied = 0
    $Module.Result.applied = $applied
    foreach ($change in $Module.Params.changes) {
        try {
            & $Apply $change
        }
        catch {
            $failure = $_
            $message = 'change {0} ({1}) failed: {2}' -f ($applied + 1), $change.control,
            $failure.Exception.Message
            try {
                $Module.Result.state = & $Gather
            }
            catch {
                $Module.Warn(('could not read the state after the failure: {0}' -f $_.Exception.Message))
            }
            $Module.FailJson($message, $failure)
        }
        # Kept current after every change, so a failure reports exactly how many were applied.
        $applied++
        $Module.Result.applied = $applied
        $Module.Result.changed = $true
    }
    try {
        $state = & $Gather
    }
    catch {
        # Every change is in place; without this the exception would end the module with neither
        # the count nor the changed flag (the wrapper reports only the exception).
        $Module.FailJson(('all {0} change(s) were applied, but the state after them could not be read: {1}' -f
                $applied, $_.Exception.Message), $_)
    }
    $Module.Result.state = $state
    $Module.ExitJson()
}

Export-ModuleMember -Function Invoke-MeddevHostModule
