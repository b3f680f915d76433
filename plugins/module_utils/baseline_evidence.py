# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check-only evidence controls of the baseline (issue 14): read in the one gather, never changed.

Each evaluator takes the catalog entry (``mechanism: evidence``, ``evidence: <kind>``) and the gathered
state (its ``evidence`` map, docs/host-contract.md) and returns one Control. A source the host could not
read (``{"error": ...}``) makes the control manual with the reason; it never fails the plan. No I/O.
"""

from __future__ import annotations

import datetime

from ansible_collections.meddev.hardening.plugins.module_utils.controls import COMPLIANT, DRIFT, MANUAL, Control

# HKLM\SOFTWARE\Policies\Microsoft\Windows\Safer\CodeIdentifiers DefaultLevel / path-rule levels
# (learn.microsoft.com windows-server/identity/software-restriction-policies/
# software-restriction-policies-technical-overview: Disallowed 0, Basic User 0x20000, Unrestricted 0x40000).
SRP_LEVELS = {0: "Disallowed", 0x20000: "Basic User", 0x40000: "Unrestricted"}
# Win32_DeviceGuard.CodeIntegrityPolicyEnforcementStatus: 0 off, 1 audit, 2 enforced
# (learn.microsoft.com windows/security/hardware-security/enable-virtualization-based-protection-of-code-integrity).
WDAC_MODES = {0: "off", 1: "audit", 2: "enforced"}
NETWORK_SERVICE = "S-1-5-20"


def _control(entry, expected: str, actual: str, status: str, message: str = "") -> Control:
    return Control(entry.id, entry.title, entry.source, expected, actual, status, message)


def _part(gathered: dict, name: str) -> dict:
    part = (gathered.get("evidence") or {}).get(name)
    if not isinstance(part, dict):
        return {"error": f"the host returned no {name} evidence (an older baseline module?)"}
    return part


def _unreadable(entry, expected: str, part: dict):
    if part.get("error"):
        return _control(entry, expected, "unreadable", MANUAL, f"could not be read on the host: {part['error']}")
    return None


def srp(entry, gathered: dict) -> Control:
    """SRC-LRM-6: Software Restriction Policy state; ``value`` = the folder the vendor exempts."""
    part = _part(gathered, "srp")
    expected = f"SRP on, {entry.value} exempted (Unrestricted path rule)"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    if not part.get("configured"):
        return _control(entry, expected, "no Software Restriction Policy", MANUAL,
                        "the vendor's SRP (exempting its folder) is not configured: check with the vendor (SRC-LRM-6)")
    level = SRP_LEVELS.get(part.get("default_level"), str(part.get("default_level")))
    rules = part.get("path_rules") or []
    exempt = [r["path"] for r in rules if r.get("level") == 0x40000]
    wanted = str(entry.value).rstrip("\\").lower()
    ok = any(str(p).rstrip("\\").lower() == wanted for p in exempt)
    actual = f"default level {level}, {len(rules)} path rule(s), unrestricted: {', '.join(exempt) or 'none'}"
    return _control(entry, expected, actual, COMPLIANT if ok else MANUAL,
                    "" if ok else f"{entry.value} is not the exempted path: check the SRP with the vendor (SRC-LRM-6)")


def _date(text):
    try:
        return datetime.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def patch_currency(entry, gathered: dict) -> Control:
    """SRC-CS-7/8: the installed cumulative update, its age, pending restart, WSUS; ``value`` = max age in days."""
    part = _part(gathered, "patch")
    expected = f"latest update at most {entry.value} days old, no restart pending"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    installed, today = _date(part.get("installed_on")), _date(part.get("today"))
    server = part.get("wsus_server") or "Windows Update (no WSUS policy)"
    pending = part.get("pending_restart") or []
    revision = f"build {gathered.get('os_build')}.{gathered.get('os_ubr')}"
    if installed is None or today is None:
        return _control(entry, expected, f"{revision}, install date unknown, from {server}", MANUAL,
                        "the date of the latest update could not be read (Get-HotFix InstalledOn)")
    age = (today - installed).days
    actual = (f"{revision} installed {installed.isoformat()} ({age} days), from {server}, restart "
              f"{'pending: ' + ', '.join(pending) if pending else 'not pending'}")
    if age > int(entry.value):
        return _control(entry, expected, actual, DRIFT, "install the vendor-validated cumulative update: check-only "
                        "here, never installed by this role (SRC-CS-7/8)")
    if pending:
        return _control(entry, expected, actual, MANUAL, "an update waits for a restart: plan it with the vendor")
    return _control(entry, expected, actual, COMPLIANT)


def _running(gathered: dict, names) -> list:
    services = {str(k).lower(): v for k, v in ((gathered.get("evidence") or {}).get("services") or {}).items()}
    return [n for n in names if str(services.get(n.lower(), "")).lower() == "running"]


def app_control(entry, gathered: dict) -> Control:
    """SRC-PMR-5 / SRC-CS-4: AppLocker per collection, WDAC, SRP, McAfee/Trellix Application Control
    (``value`` = its service names)."""
    part = _part(gathered, "app_control")
    expected = "application control enforced (AppLocker, WDAC, SRP or McAfee/Trellix Application Control)"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    applocker = part.get("applocker") or {}
    wdac = WDAC_MODES.get(part.get("wdac"), "unknown")
    srp_part = _part(gathered, "srp")
    srp_on = bool(srp_part.get("configured")) and srp_part.get("default_level") in (0, 0x20000)
    agents = _running(gathered, entry.value)
    modes = ", ".join(f"{k} {v}" for k, v in sorted(applocker.items())) or "not configured"
    actual = (f"AppLocker: {modes}; WDAC {wdac}; SRP {'default deny' if srp_on else 'not enforcing'}; "
              f"application control agent: {', '.join(agents) or 'none'}")
    ok = any(str(v).lower() == "enabled" for v in applocker.values()) or wdac == "enforced" or srp_on or bool(agents)
    return _control(entry, expected, actual, COMPLIANT if ok else MANUAL,
                    "" if ok else "no enforced application control: the vendor's whitelisting (SRC-PMR-5 / SRC-CS-4) "
                                  "is to be confirmed by hand")


def bitlocker_drives(entry, gathered: dict) -> Control:
    """SRC-PMR-9: every fixed drive protected with an allowed method (``value``); removable-media policy."""
    part = _part(gathered, "bitlocker_drives")
    expected = f"every fixed drive protected, {'/'.join(entry.value)}"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    allowed = {m.lower() for m in entry.value}
    shown, bad = [], []
    for volume in part.get("volumes") or []:
        mount = volume.get("mount_point")
        if volume.get("error"):
            shown.append(f"{mount} unreadable")
            bad.append(f"{mount}: {volume['error']}")
            continue
        on = str(volume.get("protection_status") or "Off").lower() in ("on", "1")
        method = str(volume.get("encryption_method") or "None")
        shown.append(f"{mount} {'on' if on else 'off'} {method}")
        if not (on and method.lower() in allowed):
            bad.append(f"{mount} not protected with an allowed method")
    removable = part.get("removable") or {}
    media = (f"removable media: write {'denied' if removable.get('deny_write') else 'allowed'}, unencrypted write "
             f"{'denied' if removable.get('deny_unencrypted_write') else 'allowed'}")
    actual = f"{'; '.join(shown) or 'no fixed drive reported'}; {media}"
    if not shown:
        bad.append("no fixed drive was reported")
    return _control(entry, expected, actual, MANUAL if bad else COMPLIANT,
                    "; ".join(bad) + ": encryption needs planning (recovery keys, vendor approval), check-only "
                    "(SRC-PMR-9)" if bad else "")


def log_forwarding(entry, gathered: dict) -> Control:
    """SRC-PMR-11: events leave the host (WEF subscription or a syslog agent, ``value`` = agent service names).

    A source-initiated WEF subscription reads the Security log as NETWORK SERVICE, which needs the
    Event Log Readers group (learn.microsoft.com windows/win32/wec/setting-up-a-source-initiated-subscription)."""
    part = _part(gathered, "log_forwarding")
    expected = "a WEF subscription manager or a running log agent"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    managers = part.get("subscription_managers") or []
    readers = {str(s).lstrip("*").upper() for s in part.get("event_log_readers") or []}
    agents = _running(gathered, entry.value)
    readers_ok = NETWORK_SERVICE in readers
    actual = (f"WEF: {', '.join(managers) or 'none'} (NETWORK SERVICE in Event Log Readers: "
              f"{'yes' if readers_ok else 'no'}); agents running: {', '.join(agents) or 'none'}")
    if managers and not readers_ok:
        return _control(entry, expected, actual, MANUAL,
                        "NETWORK SERVICE is not in Event Log Readers (S-1-5-32-573), so the subscription cannot "
                        "read the Security log: the apply that writes BL-EVENT-FORWARDING "
                        "adds it (baseline_event_collector); else add it by hand")
    ok = bool(managers) or bool(agents)
    return _control(entry, expected, actual, COMPLIANT if ok else MANUAL,
                    "" if ok else "no event forwarding found: set baseline_event_collector or install the site's "
                                  "log agent (SRC-PMR-11)")


def time_status(entry, gathered: dict) -> Control:
    """SRC-PMR-12: the current time source and offset (w32tm /query /status); ``value`` = max offset (s)."""
    part = _part(gathered, "time")
    expected = f"synchronised, offset at most {entry.value} s"
    failed = _unreadable(entry, expected, part)
    if failed:
        return failed
    offset = part.get("offset_s")
    actual = f"source {part.get('source') or 'unknown'}, offset {offset if offset is not None else 'unknown'} s"
    if str(part.get("source") or "").lower().startswith(("local cmos clock", "free-running")):
        return _control(entry, expected, actual, MANUAL, "the clock is not synchronised with a time server: set "
                        "baseline_ntp_servers (SRC-PMR-12)")
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        return _control(entry, expected, actual, MANUAL, "the offset could not be read from w32tm /query /status")
    ok = abs(offset) <= int(entry.value)
    return _control(entry, expected, actual, COMPLIANT if ok else DRIFT,
                    "" if ok else "the clock is off: check the NTP servers (BL-NTP-SERVER) and w32tm /resync")


def vendor_manual(entry, gathered: dict) -> Control:
    """A requirement only the vendor's procedure can meet (DICOM TLS, SRC-PMR-10): manual, naming the document."""
    return _control(entry, "configured per the vendor document", "not readable from Windows", MANUAL,
                    f"follow {entry.value}")


EVALUATORS = {
    "srp": srp, "patch_currency": patch_currency, "app_control": app_control, "bitlocker_drives": bitlocker_drives,
    "log_forwarding": log_forwarding, "time_status": time_status, "vendor_manual": vendor_manual,
}


def evaluate(entry, gathered: dict) -> Control:
    """The Control of one ``mechanism: evidence`` entry."""
    evaluator = EVALUATORS.get(entry.spec.get("evidence"))
    if evaluator is None:
        return _control(entry, "a known evidence kind", str(entry.spec.get("evidence")), MANUAL,
                        f"unknown evidence kind; known: {', '.join(sorted(EVALUATORS))}")
    return evaluator(entry, gathered)
