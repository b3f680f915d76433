#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.baseline, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline
short_description: The vendor documents' OS-hardening baseline, from a catalog, in two round trips
version_added: 0.1.0
description:
  - Applies a catalog of controls - the hand-written vendor controls (password and lockout policy, idle lock,
    AutoRun, removable media, SMBv1, RDP, audit policy, event forwarding, NTP, WSUS, services, MS17-010 and
    BitLocker checks) and the Microsoft security baseline (registry values of every type, security options,
    security policy, user rights, advanced audit policy).
  - One call gathers every mechanism (registry values with their types, the security template from
    C(secedit /export /areas SECURITYPOLICY USER_RIGHTS), C(auditpol /get /r), services, hotfixes, OS build
    and update revision (UBR), BitLocker, what domain Group Policy sets (RSoP) and domain membership); the
    controller plans; one call applies one batch per mechanism (registry values, one C(secedit /configure)
    template with [System Access], [Privilege Rights] and [Registry Values], one C(auditpol /restore) file,
    services). Check mode and diff (every setting, old and new value); audit-only hosts are only read.
  - A setting domain Group Policy sets is never fought - compliant "set by Group Policy" when the policy's
    value satisfies the control, else manual. MS17-010 is judged by OS build and update revision (UBR).
  - The same gather reads check-only evidence, never changed - Software Restriction Policy, patch currency
    (newest update date, pending restart, WSUS server), AppLocker/WDAC, BitLocker on every fixed drive and
    the removable-media policy, event forwarding (WEF subscription, Event Log Readers, log agents) and the
    w32tm time status. Writing a WEF subscription manager adds NETWORK SERVICE to Event Log Readers, and
    writing W32Time settings runs C(w32tm /config /update), in the same apply.
  - Validates before the host is touched - ranges from SRC-PMR-7/8 and the catalog, C(ResetLockoutCount <=
    LockoutDuration) (secedit error 87), services that management or the products need.
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
options:
  catalog:
    description:
      - The control catalog (the role passes C(baseline_catalog) here and the generated C(baseline_ms_catalog)
        through O(catalog_vars)).
      - Each entry has C(id), C(title), C(mechanism) (C(registry), C(secopt), C(secpol), C(user_right),
        C(auditpol), C(service), C(hotfix), C(bitlocker), C(evidence) - check-only, C(evidence) names the
        gathered source), where the setting lives (C(path)/C(name)/C(type),
        C(key), C(right) or C(guid)) and C(values) per profile; see docs/controls.md.
    type: list
    elements: dict
    required: true
  catalog_vars:
    description:
      - Names of variables whose control lists join O(catalog), read by the action from the host's variables instead
        of being passed as task arguments (Ansible copies a task's arguments between its processes with every
        host's result; for Microsoft's baseline that copy was the largest controller cost, docs/performance.md).
    type: list
    elements: str
    default: []
  profile:
    description:
      - Which Microsoft security baseline profile the host gets (the role passes C(baseline_profile)).
        A control without a value for this profile is reported C(not_applicable).
    type: str
    choices: [workgroup, member_server]
    default: workgroup
  values:
    description:
      - "Overrides, control id -> value (the role passes C(baseline_values)); each is checked against the
        control's type and C(range) before the host is touched."
    type: dict
    default: {}
  product_conflicts:
    description:
      - "Settings each medical product cannot take, product id -> list of C({id, source, reason}) (the role
        passes C(baseline_product_conflicts)). For the host's C(products) these controls are reported
        C(not_applicable) with C(conflicts with <source>: <reason>) and never applied."
    type: dict
    default: {}
  management:
    description:
      - How Ansible reaches the host (C(account), C(user), C(transport), C(scheme), C(message_encryption)), filled
        by the role from the connection variables, so that a control that would cut management off is kept and
        reported. Leave it to the role.
    type: dict
    default: {}
  products:
    description: The host's C(meddev_products), for entries with C(applies_to) and for C(product_conflicts).
    type: list
    elements: str
    default: []
  protected_services:
    description: Services never to disable, besides the built-in list.
    type: list
    elements: str
    default: []
  skip:
    description:
      - "Controls not to apply, each C({id, reason}) (the role passes C(baseline_skip)). A skipped control
        is reported C(not_applicable) with the message C(skipped: <reason>), is not gathered for change
        and never applied."
      - C(id) must be a control id of the catalog (docs/controls.md), listed once; C(reason) is 1-200
        printable characters.
    type: list
    elements: dict
    default: []
  variable_prefix:
    description:
      - Internal. Used by the role to name variables in errors (C(baseline_) gives C(baseline_values[...])).
        Leave unset.
    type: str
    default: ""
notes:
  - The host side runs C(secedit.exe) and C(auditpol.exe) with arguments quoted as data, and reads Group Policy
    from the RSoP WMI namespace C(root\rsop\computer); a host that is not domain-joined has no domain policy.
seealso:
  - module: meddev.hardening.firewall_policy
"""

EXAMPLES = r"""
- name: Baseline from the role's catalog (what roles/baseline does)
  meddev.hardening.baseline:
    catalog: "{{ baseline_catalog }}"
    catalog_vars: [baseline_ms_catalog]
    profile: "{{ baseline_profile }}"
    values: "{{ baseline_values }}"
    product_conflicts: "{{ baseline_product_conflicts }}"
    products: "{{ meddev_products | default([]) }}"
    protected_services: "{{ baseline_protected_services }}"
    skip: "{{ baseline_skip }}"
    management:
      account: "{{ baseline_management_account }}"
      user: "{{ ansible_user | default('') }}"
      transport: "{{ ansible_winrm_transport | default('') }}"
    variable_prefix: baseline_
  register: baseline_result

- name: Two settings on their own, a registry value and a user right
  meddev.hardening.baseline:
    profile: member_server
    catalog:
      - id: SITE-LIMIT-BLANK-PASSWORDS
        title: "Accounts: Limit local account use of blank passwords to console logon only"
        mechanism: secopt
        path: 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa'
        name: LimitBlankPasswordUse
        type: dword
        values: {workgroup: 1, member_server: 1}
        range: [0, 1]
        severity: important
        source: [SRC-PMR-2]
      - id: SITE-NETWORK-LOGON
        title: Access this computer from the network
        mechanism: user_right
        right: SeNetworkLogonRight
        values:
          workgroup: ['*S-1-5-32-544', '*S-1-5-32-545']
          member_server: ['*S-1-5-32-544', '*S-1-5-11']
        severity: important
        source: [SRC-PMR-2]
  register: two_settings

- name: Show what drifted
  ansible.builtin.debug:
    msg: "{{ two_settings.controls | selectattr('status', 'in', ['drift', 'fixed', 'failed']) | list }}"
"""

RETURN = r"""
controls:
  description: One entry per catalog control (per service for the service control).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The control id (C(BL-...), C(MS-...)).
      type: str
      sample: MS-LimitLocalAccountUseOfBlankPasswordsToConsoleLogonOnly
    title:
      description: The policy name.
      type: str
    source:
      description: SRC ids of the documents that ask for the control.
      type: list
      elements: str
      sample: [SRC-PMR-2]
    status:
      description:
        - C(compliant), C(drift) (check mode, audit-only host), C(fixed), C(failed), C(not_applicable) (skipped,
          product conflict, not in the profile, OS too old, delegated, kept for management), C(manual) (set by
          Group Policy to another value, check-only controls) or C(deferred).
      type: str
      sample: fixed
    expected:
      description: The value the control wants, as text.
      type: str
      sample: "1"
    actual:
      description: The value found on the host, as text.
      type: str
      sample: "0"
    message:
      description: "Why, in words (C(skipped: <reason>), C(set by Group Policy), the apply error ...)."
      type: str
changes_planned:
  description: Changes the plan holds (one per mechanism batch).
  returned: when the gather succeeded
  type: int
  sample: 3
changes_applied:
  description: Changes the host confirmed (0 in check mode and on audit-only hosts).
  returned: when the gather succeeded
  type: int
  sample: 3
apply_error:
  description: Why the apply stopped (also shown as a warning); the controls say which settings are in place.
  returned: when the apply failed
  type: str
host_calls:
  description: Round trips to the host (1 gather, 2 with an apply).
  returned: always
  type: int
  sample: 2
enforce:
  description: Whether the host is enforced (C(meddev_enforce)); false for audit-only hosts.
  returned: when the gather succeeded
  type: bool
meddev_host:
  description: Who and where, for reports grouped by customer and site.
  returned: when the gather succeeded
  type: dict
  contains:
    customer:
      description: C(meddev_customer).
      type: str
    site:
      description: C(meddev_site).
      type: str
    audit_only:
      description: True when the host is only read.
      type: bool
    cert_validation:
      description: Whether the WinRM certificate is validated.
      type: bool
diff:
  description: With C(--diff), every setting that changes, old -> new, grouped by control.
  returned: when changes are planned and diff mode is on
  type: dict
msg:
  description: Counts per status (C(12 compliant, 3 fixed)), or the error.
  returned: always
  type: str
"""

import csv
import datetime
import io
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.baseline import parse_inf
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimError, SimHost, run_host_module

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "registry_values": {"type": "list", "elements": "dict", "default": []},
    "services": {"type": "list", "elements": "str", "default": []},
    "changes": {"type": "list", "elements": "dict", "default": []},
}

# -- typed registry store (registry.json) -----------------------------------------------------------
# A value is stored plain (int = REG_DWORD, str = REG_SZ, list of str = REG_MULTI_SZ, what every other
# twin reads) or typed: {"kind": "qword" | "expand_string" | "binary" | ..., "value": ...}.
REGISTRY_KINDS = ("dword", "qword", "string", "expand_string", "multi_string", "binary")
PLAIN_KINDS = {int: "dword", str: "string", list: "multi_string"}
DWORD_MAX = 2 ** 32 - 1
QWORD_MAX = 2 ** 63 - 1  # the .ps1 passes [int64]
HEX_PAIRS = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")


def _checked_value(kind: str, value, where: str):
    """A registry value of ``kind`` as Windows would store it, or SimError (what New-ItemProperty refuses,
    and stricter: no negative numbers, no empty REG_MULTI_SZ member, which Windows cuts the list at)."""
    if kind not in REGISTRY_KINDS:
        raise SimError(f"{where}: unknown registry type {kind!r}")
    if kind in ("dword", "qword"):
        top = DWORD_MAX if kind == "dword" else QWORD_MAX
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise SimError(f"{where}: a {kind} value must be an integer 0..{top}, not {value!r}")
        return value
    if kind in ("string", "expand_string"):
        if not isinstance(value, str) or "\x00" in value:
            raise SimError(f"{where}: a {kind} value must be a string, not {value!r}")
        return value
    if kind == "multi_string":
        if not isinstance(value, list) or not all(isinstance(m, str) and m and "\x00" not in m for m in value):
            raise SimError(f"{where}: a multi_string value must be a list of non-empty strings, not {value!r}")
        return list(value)
    if not isinstance(value, str) or not HEX_PAIRS.match(value):
        raise SimError(f"{where}: a binary value must be hex digits in pairs, not {value!r}")
    return value.lower()


def registry_entry(raw, where: str = "registry") -> tuple:
    """(kind, value) of a stored value: plain int/str/list, or the typed {kind, value} form."""
    if isinstance(raw, dict):
        if set(raw) != {"kind", "value"}:
            raise SimError(f"{where}: a typed registry value is {{kind, value}}, not {raw!r}")
        return raw["kind"], _checked_value(raw["kind"], raw["value"], where)
    kind = PLAIN_KINDS.get(type(raw))
    if kind is None:
        raise SimError(f"{where}: cannot store {raw!r} in the registry")
    return kind, _checked_value(kind, raw, where)


def _stored(kind: str, value):
    return value if kind in ("dword", "string", "multi_string") else {"kind": kind, "value": value}


def _hklm_key(path: str) -> str:
    """The key under HKLM of a contract path; the only hive the module reads or writes."""
    hive, _sep, rest = path.partition("\\")
    if hive.upper() != "HKLM" or not rest:
        raise SimError(f"registry path {path}: only HKLM is supported (docs/host-contract.md)")
    return rest


def _find(mapping: dict, name: str):
    """The existing spelling of ``name`` in ``mapping`` (registry names are case-insensitive), or None."""
    return next((k for k in mapping if k.lower() == name.lower()), None)


def _registry_state(host: SimHost, requested: list) -> tuple:
    registry = host.read("registry")
    values, kinds = {}, {}
    for item in requested:
        _hklm_key(item["path"])
        key = registry.get(_find(registry, item["path"]), {})
        name = _find(key, item["name"])
        if name is None:
            continue
        kind, value = registry_entry(key[name], f"{item['path']}\\{item['name']}")
        # The .ps1 collects into PowerShell hashtables, whose keys compare case-insensitively: two catalog
        # spellings of one key (LanmanServer, LanManServer) land under the first one seen.
        path = _find(values, item["path"]) or item["path"]
        label = _find(values.get(path, {}), item["name"]) or item["name"]
        values.setdefault(path, {})[label] = value
        kinds.setdefault(path, {})[label] = kind
    return values, kinds


def _set_registry(registry: dict, path: str, name: str, kind: str, value) -> None:
    """New-ItemProperty -Force: the key is created if missing, a value of another type is replaced;
    an existing key or value keeps its spelling."""
    _hklm_key(path)
    value = _checked_value(kind, value, f"{path}\\{name}")
    key = _find(registry, path) or path
    values = registry.setdefault(key, {})
    values[_find(values, name) or name] = _stored(kind, value)


# -- the security template (secedit) ------------------------------------------------------------------
# Security options that secedit /export writes to [Registry Values] (Windows' sceregvl.inf list): the
# Security Options rows of Microsoft's baseline CSV (../shared/anchors/microsoft-security-baseline,
# SecurityBaseline_WindowsServer_2025-2510.csv) and other CIS L1 security options. The CSV spells
# SecurePipeServers without "Control\"; the real key is under Control (as secedit exports it).
TEMPLATE_REGISTRY_VALUES = {
    path.lower(): (path, code) for path, code in (
        (r"Software\Microsoft\Windows NT\CurrentVersion\Setup\RecoveryConsole\SecurityLevel", 4),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Setup\RecoveryConsole\SetCommand", 4),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Winlogon\AllocateDASD", 1),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Winlogon\CachedLogonsCount", 1),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Winlogon\ForceUnlockLogon", 4),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Winlogon\PasswordExpiryWarning", 4),
        (r"Software\Microsoft\Windows NT\CurrentVersion\Winlogon\ScRemoveOption", 1),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\ConsentPromptBehaviorAdmin", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\ConsentPromptBehaviorUser", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\DisableCAD", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\DontDisplayLastUserName", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\DontDisplayLockedUserId", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\EnableInstallerDetection", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\EnableSecureUIAPaths", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\EnableUIADesktopToggle", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\EnableVirtualization", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\FilterAdministratorToken", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\InactivityTimeoutSecs", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\LegalNoticeCaption", 1),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\LegalNoticeText", 7),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\MaxDevicePasswordFailedAttempts", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\NoConnectedUser", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\PromptOnSecureDesktop", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\ShutdownWithoutLogon", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\UndockWithoutLogon", 4),
        (r"Software\Microsoft\Windows\CurrentVersion\Policies\System\Kerberos\Parameters\SupportedEncryptionTypes", 4),
        (r"Software\Policies\Microsoft\Cryptography\ForceKeyProtection", 4),
        (r"System\CurrentControlSet\Control\Lsa\AuditBaseObjects", 4),
        (r"System\CurrentControlSet\Control\Lsa\CrashOnAuditFail", 4),
        (r"System\CurrentControlSet\Control\Lsa\DisableDomainCreds", 4),
        (r"System\CurrentControlSet\Control\Lsa\EveryoneIncludesAnonymous", 4),
        (r"System\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy\Enabled", 4),
        (r"System\CurrentControlSet\Control\Lsa\ForceGuest", 4),
        (r"System\CurrentControlSet\Control\Lsa\FullPrivilegeAuditing", 3),
        (r"System\CurrentControlSet\Control\Lsa\LimitBlankPasswordUse", 4),
        (r"System\CurrentControlSet\Control\Lsa\LmCompatibilityLevel", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\allownullsessionfallback", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\AuditReceivingNTLMTraffic", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\NTLMMinClientSec", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\NTLMMinServerSec", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\RestrictReceivingNTLMTraffic", 4),
        (r"System\CurrentControlSet\Control\Lsa\MSV1_0\RestrictSendingNTLMTraffic", 4),
        (r"System\CurrentControlSet\Control\Lsa\NoLMHash", 4),
        (r"System\CurrentControlSet\Control\Lsa\pku2u\AllowOnlineID", 4),
        (r"System\CurrentControlSet\Control\Lsa\RestrictAnonymous", 4),
        (r"System\CurrentControlSet\Control\Lsa\RestrictAnonymousSAM", 4),
        (r"System\CurrentControlSet\Control\Lsa\RestrictRemoteSAM", 1),
        (r"System\CurrentControlSet\Control\Lsa\SCENoApplyLegacyAuditPolicy", 4),
        (r"System\CurrentControlSet\Control\Lsa\UseMachineId", 4),
        (r"System\CurrentControlSet\Control\Print\Providers\LanMan Print Services\Servers\AddPrinterDrivers", 4),
        (r"System\CurrentControlSet\Control\SecurePipeServers\Winreg\AllowedExactPaths\Machine", 7),
        (r"System\CurrentControlSet\Control\SecurePipeServers\Winreg\AllowedPaths\Machine", 7),
        (r"System\CurrentControlSet\Control\Session Manager\Kernel\ObCaseInsensitive", 4),
        (r"System\CurrentControlSet\Control\Session Manager\Memory Management\ClearPageFileAtShutdown", 4),
        (r"System\CurrentControlSet\Control\Session Manager\ProtectionMode", 4),
        (r"System\CurrentControlSet\Control\Session Manager\SubSystems\optional", 7),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\AutoDisconnect", 4),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\EnableForcedLogOff", 4),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\EnableSecuritySignature", 4),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\NullSessionPipes", 7),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\NullSessionShares", 7),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\RequireSecuritySignature", 4),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\RestrictNullSessAccess", 4),
        (r"System\CurrentControlSet\Services\LanManServer\Parameters\SmbServerNameHardeningLevel", 4),
        (r"System\CurrentControlSet\Services\LanmanWorkstation\Parameters\EnablePlainTextPassword", 4),
        (r"System\CurrentControlSet\Services\LanmanWorkstation\Parameters\EnableSecuritySignature", 4),
        (r"System\CurrentControlSet\Services\LanmanWorkstation\Parameters\RequireSecuritySignature", 4),
        (r"System\CurrentControlSet\Services\LDAP\LDAPClientIntegrity", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\DisablePasswordChange", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\MaximumPasswordAge", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\RefusePasswordChange", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\RequireSignOrSeal", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\RequireStrongKey", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\SealSecureChannel", 4),
        (r"System\CurrentControlSet\Services\Netlogon\Parameters\SignSecureChannel", 4),
    )
}
# [Registry Values] type codes (REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ).
TYPE_CODES = {1: "string", 2: "expand_string", 3: "binary", 4: "dword", 7: "multi_string"}
KIND_CODES = {kind: code for code, kind in TYPE_CODES.items()}
# Privilege and logon-right constants secedit knows ([Privilege Rights]; learn.microsoft.com
# windows/win32/secauthz/privilege-constants and account-rights-constants).
PRIVILEGE_RIGHTS = {name.lower(): name for name in (
    "SeAssignPrimaryTokenPrivilege", "SeAuditPrivilege", "SeBackupPrivilege", "SeBatchLogonRight",
    "SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege", "SeCreatePagefilePrivilege", "SeCreatePermanentPrivilege",
    "SeCreateSymbolicLinkPrivilege", "SeCreateTokenPrivilege", "SeDebugPrivilege",
    "SeDelegateSessionUserImpersonatePrivilege", "SeDenyBatchLogonRight", "SeDenyInteractiveLogonRight",
    "SeDenyNetworkLogonRight", "SeDenyRemoteInteractiveLogonRight", "SeDenyServiceLogonRight",
    "SeEnableDelegationPrivilege", "SeImpersonatePrivilege", "SeIncreaseBasePriorityPrivilege",
    "SeIncreaseQuotaPrivilege", "SeIncreaseWorkingSetPrivilege", "SeInteractiveLogonRight", "SeLoadDriverPrivilege",
    "SeLockMemoryPrivilege", "SeMachineAccountPrivilege", "SeManageVolumePrivilege", "SeNetworkLogonRight",
    "SeProfileSingleProcessPrivilege", "SeRelabelPrivilege", "SeRemoteInteractiveLogonRight",
    "SeRemoteShutdownPrivilege", "SeRestorePrivilege", "SeSecurityPrivilege", "SeServiceLogonRight",
    "SeShutdownPrivilege", "SeSyncAgentPrivilege", "SeSystemEnvironmentPrivilege", "SeSystemProfilePrivilege",
    "SeSystemtimePrivilege", "SeTakeOwnershipPrivilege", "SeTcbPrivilege", "SeTimeZonePrivilege",
    "SeTrustedCredManAccessPrivilege", "SeUndockPrivilege",
)}
SID_REFERENCE = re.compile(r"\A\*S-1-\d+(?:-\d+)+\Z")
SECTION_ORDER = ("System Access", "Event Audit", "Registry Values", "Privilege Rights")


def _secedit_refuses(message: str, code: int = 1):
    # Stricter than Windows, which logs a bad line to scesrv.log and configures the rest: nothing changes.
    return SimError(f"secedit /configure failed (exit {code}): {message}")


def _rights_of(section: dict) -> dict:
    """[Privilege Rights] as stored: {right: "*S-..,*S-.."} (a list is accepted too); empty rights dropped."""
    out = {}
    for right, accounts in section.items():
        members = accounts if isinstance(accounts, list) else [a.strip() for a in str(accounts).split(",")]
        members = [m for m in members if m]
        if members:
            out[right] = ",".join(members)
    return out


def _template_line(entry: tuple, kind: str, value) -> str:
    path, _code = entry
    code = KIND_CODES.get(kind)
    if code is None:  # a REG_QWORD is not a security option type
        return ""
    if kind in ("string", "expand_string"):
        data = f'"{value}"'
    elif kind == "multi_string":
        data = ",".join(value)
    elif kind == "binary":
        # Only FullPrivilegeAuditing is binary; secedit exports its one byte 00 as "3,0". Written here
        # as decimal bytes, comma-separated (unverified beyond one byte).
        data = ",".join(str(b) for b in bytes.fromhex(value))
    else:
        data = str(value)
    return f"MACHINE\\{path}={code},{data}"


def _registry_values_section(host: SimHost) -> list:
    """[Registry Values] of secedit /export: the security options it knows that exist in the registry."""
    lines = []
    for key, values in sorted(host.read("registry").items()):
        if not key.upper().startswith("HKLM\\"):
            continue
        for name, raw in sorted(values.items()):
            entry = TEMPLATE_REGISTRY_VALUES.get(f"{key[5:]}\\{name}".lower())
            if entry is not None:
                kind, value = registry_entry(raw, f"{key}\\{name}")
                line = _template_line(entry, kind, value)
                if line:
                    lines.append(line)
    return lines


def _export_inf(host: SimHost) -> str:
    """secedit /export /areas SECURITYPOLICY USER_RIGHTS: sections in secedit's order; a right held by
    no one is left out, as secedit does."""
    store = host.read("secpol")
    lines = ["[Unicode]", "Unicode=yes"]
    for section in SECTION_ORDER:
        if section == "Registry Values":
            lines += ["[Registry Values]", *_registry_values_section(host)]
        elif section == "Privilege Rights":
            rights = _rights_of(store.get(section, {}))
            lines += ["[Privilege Rights]", *(f"{k} = {v}" for k, v in sorted(rights.items()))]
        elif section in store:
            lines += [f"[{section}]", *(f"{k} = {v}" for k, v in store[section].items())]
    lines += ["[Version]", 'signature="$CHICAGO$"', "Revision=1"]
    return "\r\n".join(lines) + "\r\n"


def _template_sections(text: str) -> dict:
    """{section: [(key, value)]} of a template, every non-comment line kept so a bad one can be refused."""
    sections, current = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None:
            key, sep, value = line.partition("=")
            if not sep:
                current.append((line, None))
            else:
                current.append((key.strip(), value.strip()))
    return sections


def _registry_value_of(key: str, value) -> tuple:
    """One [Registry Values] line as (HKLM path, name, kind, value), or the refusal."""
    bad = _secedit_refuses(f"invalid [Registry Values] line {key}={value if value is not None else ''}")
    machine, _sep, rest = key.partition("\\")
    if value is None or machine.upper() != "MACHINE" or "\\" not in rest:
        raise bad
    code, sep, data = value.partition(",")
    if not sep or not code.strip().isdigit() or int(code) not in TYPE_CODES:
        raise _secedit_refuses(f"unknown registry type in [Registry Values] line {key}={value}")
    kind = TYPE_CODES[int(code)]
    data = data.strip()
    if kind == "dword":
        if not data.isdigit():
            raise bad
        parsed = int(data)
    elif kind in ("string", "expand_string"):
        if len(data) < 2 or not (data.startswith('"') and data.endswith('"')):
            raise bad
        parsed = data[1:-1]
    elif kind == "multi_string":
        parsed = [m.strip().strip('"') for m in data.split(",")] if data else []
    else:
        members = [m.strip() for m in data.split(",")] if data else []
        if not all(m.isdigit() and int(m) <= 255 for m in members):
            raise bad
        parsed = bytes(int(m) for m in members).hex()
    path, _sep, name = rest.rpartition("\\")
    try:
        parsed = _checked_value(kind, parsed, key)
    except SimError:
        raise bad from None
    return f"HKLM\\{path}", name, kind, parsed


def _configure(host: SimHost, inf: str) -> None:
    """secedit /configure /areas SECURITYPOLICY USER_RIGHTS: everything checked before anything changes."""
    sections = _template_sections(inf)
    current = host.read("secpol")
    access = {**current.get("System Access", {}), **parse_inf(inf).get("System Access", {})}
    reset, duration = access.get("ResetLockoutCount"), access.get("LockoutDuration")
    if reset is not None and duration is not None and int(reset) > int(duration):
        # What secedit /configure reports, and it changes nothing.
        raise _secedit_refuses("The parameter is incorrect.", 87)
    rights = _rights_of(current.get("Privilege Rights", {}))
    for right, accounts in sections.get("Privilege Rights", []):
        name = PRIVILEGE_RIGHTS.get(right.lower())
        if name is None or accounts is None:
            raise _secedit_refuses(f"Configure {right}. Error 1313: A specified privilege does not exist.")
        members = [a.strip() for a in accounts.split(",") if a.strip()]
        bad = [m for m in members if not SID_REFERENCE.match(m)]
        if bad:
            raise _secedit_refuses(f"Configure {name}. Error 1332: No mapping between account names and security IDs "
                                   f"was done ({', '.join(bad)}; the template gives SIDs as *S-1-...)")
        rights = {k: v for k, v in rights.items() if k.lower() != name.lower()}
        if members:
            rights[name] = ",".join(members)
    values = [_registry_value_of(key, value) for key, value in sections.get("Registry Values", [])]
    current["System Access"] = {k: str(v) for k, v in access.items()}
    current["Privilege Rights"] = rights
    host.write("secpol", current)
    if values:
        registry = host.read("registry")
        for path, name, kind, value in values:
            _set_registry(registry, path, name, kind, value)
        host.write("registry", registry)


# -- Group Policy (RSoP) and domain membership -------------------------------------------------------

def _part_of_domain(host: SimHost) -> bool:
    joined = host.read("os").get("PartOfDomain", False)
    if not isinstance(joined, bool):
        raise SimError(f"os.json PartOfDomain must be true or false, not {joined!r}")
    return joined


def _gpo(host: SimHost, part_of_domain: bool) -> dict:
    """gpo.json: what domain Group Policy sets, in the gather's shape (absent: a workgroup host, no RSoP
    data); ``error`` set: RSoP could not be read (empty maps, as the .ps1). Advanced audit policy comes
    from Group Policy's audit.csv, which the .ps1 reads only on a domain member."""
    document = host.read("gpo")
    empty = {"registry": {}, "secpol": {}, "user_rights": {}, "audit": {}, "error": ""}
    if document.get("error"):
        return {**empty, "error": str(document["error"])}
    gpo = {key: dict(document.get(key) or {}) for key in ("registry", "secpol", "user_rights", "audit")}
    if not part_of_domain:
        gpo["audit"] = {}
    return {**gpo, "error": ""}


def _auditpol_csv(state: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Machine Name", "Policy Target", "Subcategory", "Subcategory GUID", "Inclusion Setting",
                     "Exclusion Setting"])
    for guid, item in sorted(state.items()):
        writer.writerow(["SIM", "System", item["name"], guid, item["setting"], ""])
    return out.getvalue()


def _bitlocker(document: dict) -> dict:
    """Get-SystemDriveBitLocker of baseline.ps1: the C: volume, or why it cannot be read.

    bitlocker.json ``module: false`` - no BitLocker module; ``fails: <message>`` - the module is
    there but Get-BitLockerVolume throws (WMI provider or feature absent, access denied)."""
    if document.get("module") is False:
        return {"error": "Get-BitLockerVolume is not available (the BitLocker feature is not installed)"}
    if document.get("fails"):
        return {"error": f"Get-BitLockerVolume -MountPoint C: failed: {document['fails']}"}
    if "C:" not in document:
        return {"error": "Get-BitLockerVolume returned no volume for C:"}
    return document["C:"]


# -- check-only evidence (issue 14; Get-EvidenceState of baseline.ps1, docs/winsim.md) -----------------------
SAFER = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Safer\\CodeIdentifiers"
REBOOT_MARKERS = (  # keys whose presence means a restart is pending (see Get-PendingRestart in the .ps1)
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending",
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired",
)
SESSION_MANAGER = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager"
WSUS_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"
FVE_POLICY = "HKLM\\SYSTEM\\CurrentControlSet\\Policies\\Microsoft\\FVE"
REMOVABLE_DISK_POLICY = ("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices"
                         "\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}")  # removable disks class GUID
SUBSCRIPTION_MANAGER = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager"
EVENT_LOG_READERS = "S-1-5-32-573"


def _value(registry: dict, path: str, name: str):
    key = registry.get(_find(registry, path) or "", {})
    found = _find(key, name)
    return None if found is None else registry_entry(key[found], f"{path}\\{name}")[1]


def _srp(registry: dict) -> dict:
    level = _value(registry, SAFER, "DefaultLevel")
    level = level if isinstance(level, int) else None  # the .ps1 takes a REG_DWORD only
    rules = []
    for path in sorted(registry):
        parts = path.split("\\")
        # CodeIdentifiers\<level>\Paths\{guid}: ItemData is the path of the rule
        if path.lower().startswith(SAFER.lower() + "\\") and len(parts) == len(SAFER.split("\\")) + 3 \
                and parts[-2].lower() == "paths" and parts[-3].isdigit():
            data = _value(registry, path, "ItemData")
            if data is not None:
                rules.append({"path": data, "level": int(parts[-3])})
    return {"configured": level is not None, "default_level": level, "path_rules": rules}


def _patch(host: SimHost, registry: dict, updates: dict) -> dict:
    """hotfixes.json ``installed_on``: InstalledOn of the newest Get-HotFix entry (absent = unknown);
    clock.json ``today`` fixes the host's date (else today's)."""
    pending = [p.rsplit("\\", 1)[1] for p in REBOOT_MARKERS if _find(registry, p) is not None]
    if _value(registry, SESSION_MANAGER, "PendingFileRenameOperations"):
        pending.append("PendingFileRenameOperations")
    if host.read("windows_update").get("reboot_pending") and "RebootRequired" not in pending:
        pending.append("RebootRequired")
    today = host.read("clock").get("today") or datetime.date.today().isoformat()
    return {"installed_on": updates.get("installed_on"), "today": today, "pending_restart": pending,
            "wsus_server": _value(registry, WSUS_POLICY, "WUServer") or ""}


def _fixed_drives(document: dict) -> dict:
    if document.get("module") is False or document.get("fails"):
        return {"error": _bitlocker(document)["error"]}
    return {"volumes": [{"mount_point": k, **v} for k, v in sorted(document.items()) if re.fullmatch(r"[A-Z]:", k)]}


def _failed(document: dict, part: dict) -> dict:
    """A seeded ``fails: <message>`` makes that source unreadable, as a throwing cmdlet on the host."""
    return {"error": str(document["fails"])} if document.get("fails") else part


def evidence(host: SimHost, updates: dict) -> dict:
    registry = host.read("registry")
    services = host.read("services")
    control = host.read("app_control")   # {applocker: {Exe: Enabled|AuditOnly|NotConfigured}, wdac: 0|1|2}
    time = host.read("time")              # {source, offset_s} as w32tm /query /status shows them
    drives = _fixed_drives(host.read("bitlocker"))
    if "volumes" in drives:
        drives["removable"] = {"deny_write": _value(registry, REMOVABLE_DISK_POLICY, "Deny_Write") == 1,
                               "deny_unencrypted_write": _value(registry, FVE_POLICY, "RDVDenyWriteAccess") == 1}
    managers = registry.get(_find(registry, SUBSCRIPTION_MANAGER) or "", {})
    members = (host.read("local_groups").get(EVENT_LOG_READERS) or [])
    return {
        "srp": _srp(registry),
        "patch": _patch(host, registry, updates),
        "app_control": _failed(control, {"applocker": control.get("applocker") or {}, "wdac": control.get("wdac", 0)}),
        "bitlocker_drives": drives,
        "log_forwarding": {"subscription_managers": [str(v) for _n, v in sorted(managers.items())],
                           "event_log_readers": members},
        "time": _failed(time, {"source": time.get("source") or "Local CMOS Clock", "offset_s": time.get("offset_s")}),
        "services": {name: str(item.get("Status", "")) for name, item in services.items()},
    }


def gather(host: SimHost, params: dict) -> dict:
    values, kinds = _registry_state(host, params["registry_values"])
    services = host.read("services")
    # hotfixes.json: Get-HotFix ids, the build (CurrentBuildNumber) and the update revision (UBR); a
    # document without "ubr" is a host without the UBR value (null, as Get-OsRevision returns it).
    hotfixes = host.read("hotfixes", {"installed": [], "os_build": 0})
    part_of_domain = _part_of_domain(host)
    return {
        "registry": values,
        "registry_kinds": kinds,
        "secpol_inf": _export_inf(host),
        "auditpol_csv": _auditpol_csv(host.read("auditpol")),
        "services": {n: services[n] for n in params["services"] if n in services},
        "hotfixes": hotfixes.get("installed", []),
        "os_build": hotfixes.get("os_build", 0),
        "os_ubr": hotfixes.get("ubr"),
        "bitlocker": _bitlocker(host.read("bitlocker")),
        "gpo": _gpo(host, part_of_domain),
        "part_of_domain": part_of_domain,
        "evidence": evidence(host, hotfixes),
    }


def _registry_follow_up(host: SimHost, paths: list) -> None:
    """Complete-RegistryFollowUp of the .ps1: NETWORK SERVICE into Event Log Readers when a WEF subscription
    manager is written; ``w32tm /config /update`` (time.json ``config_updates`` counts them) when W32Time
    settings are written and the service runs (a stopped or absent W32Time is left alone)."""
    if any(p.lower() == SUBSCRIPTION_MANAGER.lower() for p in paths):
        groups = host.read("local_groups")
        members = groups.setdefault(EVENT_LOG_READERS, [])
        if "S-1-5-20" not in members:
            members.append("S-1-5-20")
            host.write("local_groups", groups)
    if any(p.lower().startswith("hklm\\system\\currentcontrolset\\services\\w32time\\") for p in paths):
        service = host.read("services").get(_find(host.read("services"), "W32Time") or "", {})
        if service.get("Status") == "Running":
            time = host.read("time")
            time["config_updates"] = int(time.get("config_updates", 0)) + 1
            host.write("time", time)


def apply_change(host: SimHost, change: dict) -> None:
    kind = change.get("kind")
    if kind == "set_registry":
        # One New-ItemProperty per value, as the .ps1: the values before a refused one stay written.
        registry = host.read("registry")
        try:
            for item in change["values"]:
                _set_registry(registry, item["path"], item["name"], item.get("type"), item.get("value"))
        finally:
            host.write("registry", registry)
        _registry_follow_up(host, [item["path"] for item in change["values"]])
    elif kind == "apply_secpol":
        _configure(host, change["inf"])
    elif kind == "apply_auditpol":
        state = host.read("auditpol")
        for row in csv.DictReader(io.StringIO(change["csv"])):
            state[row["Subcategory GUID"].upper()] = {"name": row["Subcategory"], "setting": row["Inclusion Setting"]}
        host.write("auditpol", state)
    elif kind == "disable_services":
        services = host.read("services")
        for name in change["services"]:
            services[name] = {**services.get(name, {}), "StartType": "Disabled", "Status": "Stopped"}
        host.write("services", services)
    else:
        raise SimError(f"unknown change kind {kind!r}")


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "baseline",
                    gather, apply_change)


if __name__ == "__main__":
    main()
