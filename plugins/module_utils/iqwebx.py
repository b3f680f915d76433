# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iQ-WEBX LicGen.exe remediation (field safety notice, SRC-IQW-1 ... SRC-IQW-10). No I/O.

Order matters and is kept: the antivirus exclusion is added before LicGen.exe is restored, or
the restored file is caught again (SRC-IQW-9); the file comes back from Defender's quarantine
when it is there (SRC-IQW-7), else from a distributor artifact chosen by the full iQ-X version
and verified by SHA-256 on the controller and again on the host (SRC-IQW-8). Nothing is ever
downloaded. Every step is recorded in an evidence file (SRC-IQW-10).
"""

from __future__ import annotations

import dataclasses
import json
import re

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    DRIFT,
    FAILED,
    MANUAL,
    NOT_APPLICABLE,
    ArgumentError,
    Change,
    Control,
    Plan,
    windows_path,
)
from ansible_collections.meddev.hardening.plugins.module_utils.defender import (
    HIDDEN_MESSAGE,
    canonical,
    host_list,
    is_placeholder,
)

VERSION = re.compile(r"^\d+(\.\d+){1,3}\Z")
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


@dataclasses.dataclass(frozen=True)
class Desired:
    install_dir: str
    login_url: str
    artifacts: dict        # version -> {"path", "sha256"} (controller paths)
    signature_max_age_days: int
    evidence_path: str
    now: str
    prefix: str = ""


def validate(args: dict, prefix: str = "", now: str = "") -> Desired:
    install = windows_path(args.get("install_dir"), f"{prefix}install_dir", "folder")
    url = str(args.get("login_url") or "")
    if not re.match(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[^\s\"<>\x00-\x1f\x7f]*)?\Z", url):
        raise ArgumentError(f"{prefix}login_url", f"{url!r} is not an http(s) URL like http://localhost/iqweb/")
    artifacts = {}
    raw_artifacts = args.get("artifacts") or {}
    if not isinstance(raw_artifacts, dict):
        raise ArgumentError(f"{prefix}artifacts", "must be a dictionary: full iQ-X version -> {path, sha256}")
    for version, item in raw_artifacts.items():
        var = f"{prefix}artifacts[{str(version)!r}]"
        if not VERSION.match(str(version)):
            raise ArgumentError(var, "keys are full iQ-X versions such as 2.2.0.6")
        unknown = sorted(str(k) for k in set(item) - {"path", "sha256"}) if isinstance(item, dict) else []
        if unknown:
            raise ArgumentError(var, f"unknown keys {unknown}; allowed: path, sha256")
        if (not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]
                or not SHA256.match(str(item.get("sha256", "")).lower())):
            raise ArgumentError(var, "needs path (on the controller) and sha256 (64 hex digits)")
        artifacts[str(version)] = {"path": str(item["path"]), "sha256": str(item["sha256"]).lower()}
    try:
        age = int(args.get("signature_max_age_days", 1))
    except (TypeError, ValueError):
        age = -1
    if not 0 <= age <= 365:
        raise ArgumentError(f"{prefix}signature_max_age_days", "allowed: an integer 0-365")
    evidence = windows_path(args.get("evidence_path"), f"{prefix}evidence_path", "file path")
    return Desired(install.rstrip("\\"), url, artifacts, age, evidence, now, prefix)


def licgen_path(install_dir: str) -> str:
    return f"{install_dir}\\PACS\\php\\LicGen.exe"


def plan(desired: Desired, gathered: dict, artifact: dict | None = None) -> Plan:
    """``artifact``: the controller's file for the host's version, read and hashed by the action."""
    product = gathered.get("iqwebx") or {}
    if not product.get("installed"):
        return Plan((Control("IQW-INSTALLED", "iQ-WEBX installed", ("SRC-IQW-6",), "installed", "not installed",
                             NOT_APPLICABLE, "no iQ-WEBX on this host: nothing to do"),), ())
    version = product.get("version") or "unknown"
    install = (product.get("install_dir") or desired.install_dir).rstrip("\\")
    target = licgen_path(install)
    controls, changes = [], []

    exclusions = host_list(gathered.get("exclusions", []), "exclusions")
    # Lists hidden by policy (HideExclusionsFromLocalAdmins) cannot be verified: reported, nothing added.
    hidden = bool(gathered.get("exclusions_hidden")) or any(is_placeholder(v) for v in exclusions)
    excluded = not hidden and is_excluded(target, exclusions, gathered.get("environment") or {})
    controls.append(Control("IQW-EXCLUSION", "LicGen.exe excluded from antivirus scans", ("SRC-IQW-9",), "excluded",
                            "unknown (hidden by policy)" if hidden else "excluded" if excluded else "not excluded",
                            MANUAL if hidden else COMPLIANT if excluded else DRIFT, HIDDEN_MESSAGE if hidden else ""))
    present = bool(gathered.get("licgen_present"))
    licgen = Control("IQW-LICGEN", f"LicGen.exe present directly in {install}\\PACS\\php",
                     ("SRC-IQW-6", "SRC-IQW-7", "SRC-IQW-8"), "present", "present" if present else "missing",
                     COMPLIANT if present else DRIFT)
    restore = None
    if not present:
        licgen, restore = _restore(desired, gathered, licgen, target=target, version=version, artifact=artifact)
    if not excluded and not hidden:
        # The exclusion goes before any restore: a restored file must not be caught again (SRC-IQW-9).
        changes.append(Change("IQW-EXCLUSION", "add_exclusion", {"value": target}, "not excluded", "excluded"))
    if restore:
        changes.append(restore)
    controls.append(licgen)

    login = gathered.get("login") or {}
    login_ok = login.get("status") == 200 and int(login.get("length") or 0) > 0
    controls.append(Control("IQW-LOGIN", "iQ-WEB login page loads", ("SRC-IQW-4",), "HTTP 200 with content",
                            f"HTTP {login.get('status')} with {login.get('length') or 0} bytes",
                            COMPLIANT if login_ok else (DRIFT if restore else FAILED),
                            "" if login_ok or restore else
                            ("the login page is blank or down although LicGen.exe is in place: check the iQ-WEBX "
                             "services (SRC-IQW-6) and the login_url" if present else
                             "the login page stays white while LicGen.exe is missing (see IQW-LICGEN)")))
    controls += _operator_steps(desired, gathered, changes)

    evidence = _parse(gathered.get("evidence_text"))
    record_needed = bool(changes) or not evidence
    if record_needed:
        steps = [{"control": c.control, "step": c.kind, "before": c.before, "after": c.after} for c in changes]
        record = {"schema": 1, "notice": "iQ-WEBX/iQ-X 2.2.0 LicGen.exe field safety notice, 6 Nov 2017",
                  "time": desired.now, "iqx_version": version, "install_dir": install, "steps": steps,
                  "history": ([*_history(evidence), {k: evidence.get(k) for k in ("time", "steps")}]
                              if evidence else [])[-20:]}
        changes.append(Change("IQW-EVIDENCE", "write_evidence",
                              {"path": desired.evidence_path, "content": json.dumps(record, indent=2) + "\n"},
                              "absent" if not evidence else "previous run", "recorded"))
    controls.append(Control("IQW-EVIDENCE", "Evidence of the remediation kept", ("SRC-IQW-10",), "recorded",
                            "recorded" if evidence else "absent", DRIFT if record_needed else COMPLIANT))
    return Plan(tuple(controls), tuple(changes), facts={"iqx_version": version, "licgen_path": target})


def is_excluded(target: str, exclusions: list, environment: dict) -> bool:
    """Excluded by the file itself or by a folder that contains it (case-insensitive, env expanded)."""
    key = canonical("path", target, environment)
    for value in exclusions:
        folder = canonical("path", value, environment)
        if key == folder or key.startswith(folder + "\\"):
            return True
    return False


def _restore(desired, gathered, licgen, *, target, version, artifact):
    store = host_list(gathered.get("quarantine", []), "quarantine", dict, "dictionaries")
    quarantined = [q for q in store if str(q.get("path", "")).lower() == target.lower()]
    if quarantined:
        item = quarantined[-1]
        # The path exactly as the quarantine store lists it: MpCmdRun -Restore -FilePath names the item by it.
        return licgen.with_status(DRIFT, f"in Defender quarantine as {item.get('threat')}: will be restored "
                                         "after the exclusion (SRC-IQW-7)"), \
            Change("IQW-LICGEN", "restore_quarantine", {"threat": item.get("threat"), "path": item["path"]},
                   "quarantined", "restored", ("IQW-LOGIN",))
    unlisted = gathered.get("quarantine_error")
    contact = ("LicGen.exe is gone and not in quarantine"
               + (f" (the quarantine could not be listed: {unlisted})" if unlisted else "")
               + f"; get the file for iQ-X {version} from your distributor "
               "or from IMAGE Information Systems quoting that full version (SRC-IQW-8)")
    if version not in desired.artifacts:
        return licgen.with_status(FAILED, f"{contact}; then set {desired.prefix}artifacts"), None
    if not artifact or artifact.get("error"):
        return licgen.with_status(FAILED, f"artifact for {version} unreadable: "
                                          f"{(artifact or {}).get('error', 'not read')}; nothing copied"), None
    expected = desired.artifacts[version]["sha256"]
    if artifact.get("sha256") != expected:
        return licgen.with_status(FAILED, f"artifact for {version} has SHA-256 {artifact.get('sha256')} but "
                                          f"{expected} was declared: refused, nothing copied. {contact}"), None
    return licgen.with_status(DRIFT, f"will be restored from the verified artifact for {version} (SRC-IQW-8)"), \
        Change("IQW-LICGEN", "write_artifact", {"path": target, "content": artifact["content"], "sha256": expected},
               "missing", f"restored (sha256 {expected[:12]})", ("IQW-LOGIN",))


def _operator_steps(desired, gathered, changes) -> list:
    av = gathered.get("antivirus") or {}
    age = av.get("signature_age_days")
    controls = []
    if age is None:
        controls.append(Control("IQW-SIGNATURES", "Antivirus definitions up to date", ("SRC-IQW-1", "SRC-IQW-7"),
                                f"at most {desired.signature_max_age_days} day(s) old", "unknown", MANUAL,
                                "update the installed antivirus product's definitions by hand"))
    elif age > desired.signature_max_age_days:
        controls.append(Control("IQW-SIGNATURES", "Antivirus definitions up to date", ("SRC-IQW-1", "SRC-IQW-7"),
                                f"at most {desired.signature_max_age_days} day(s) old", f"{age} day(s) old", DRIFT))
        # Definitions first: newer ones no longer flag LicGen.exe (SRC-IQW-7).
        changes.insert(0, Change("IQW-SIGNATURES", "update_signatures", {}, f"{age} day(s) old", "updated"))
    else:
        controls.append(Control("IQW-SIGNATURES", "Antivirus definitions up to date", ("SRC-IQW-1", "SRC-IQW-7"),
                                f"at most {desired.signature_max_age_days} day(s) old", f"{age} day(s) old",
                                COMPLIANT))
    pending = gathered.get("pending_reboot")
    controls.append(Control("IQW-RESTART", "No restart pending", ("SRC-IQW-1", "SRC-IQW-2"), "none pending",
                            "restart pending" if pending else "none pending", MANUAL if pending else COMPLIANT,
                            "Windows updates wait for a restart: schedule one with the users, then run an "
                            "antivirus scan (SRC-IQW-2); this collection never restarts a PACS server" if pending
                            else ""))
    detections = host_list(gathered.get("detections", []), "detections", dict, "dictionaries")
    controls.append(Control("IQW-DETECTIONS", "Antivirus detections reviewed", ("SRC-IQW-3",), "reviewed",
                            f"{len(detections)} detection(s)", MANUAL if detections else COMPLIANT,
                            "; ".join(f"{d.get('time')} {d.get('threat')}" for d in detections[:5])))
    return controls


def _history(evidence: dict) -> list:
    """Earlier runs from the evidence file; anything but a list there (a hand-edited file) is dropped."""
    history = evidence.get("history")
    return list(history) if isinstance(history, list) else []


def _parse(text) -> dict:
    try:
        record = json.loads(text or "{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}
