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
    third_party_steps,
)

VERSION = re.compile(r"^\d+(\.\d+){1,3}\Z")
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[^\s\"<>\x00-\x1f\x7f]*)?\Z")
# The other parts SRC-IQW-4 names: checked when their URL is set (empty: not configured here).
PAGES = (("iqx", "iQ-X"), ("iq4view", "iQ-4VIEW"))
SCAN_RECORD = "last_scan.json"  # next to the evidence file


@dataclasses.dataclass(frozen=True)
class Desired:
    install_dir: str
    login_url: str
    artifacts: dict        # version -> {"path", "sha256"} (controller paths)
    signature_max_age_days: int
    evidence_path: str
    now: str
    prefix: str = ""
    pages: tuple = ()       # (key, title, url) of iQ-X / iQ-4VIEW when configured
    scan_record: str = ""   # the host file the post-restore scan writes (started, finished)


def validate(args: dict, prefix: str = "", now: str = "") -> Desired:
    install = windows_path(args.get("install_dir"), f"{prefix}install_dir", "folder")
    url = str(args.get("login_url") or "")
    if not URL.match(url):
        raise ArgumentError(f"{prefix}login_url", f"{url!r} is not an http(s) URL like http://localhost/iqweb/")
    pages = []
    for key, title in PAGES:
        value = args.get(f"{key}_url")
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not URL.match(value):
            raise ArgumentError(f"{prefix}{key}_url", f"{value!r} is not an http(s) URL (empty: {title} is not "
                                                      "configured here)")
        pages.append((key, title, value))
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
    scan_record = f"{evidence.rsplit(chr(92), 1)[0]}\\{SCAN_RECORD}"
    return Desired(install.rstrip("\\"), url, artifacts, age, evidence, now, prefix, tuple(pages), scan_record)


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

    controls += _web_checks(desired, gathered, present=present, restoring=bool(restore))
    controls += _scan(desired, gathered, changes, install=install, restoring=bool(restore))
    controls += _third_party(gathered, target, present)
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


def _web_checks(desired, gathered, *, present: bool, restoring: bool) -> list:
    """SRC-IQW-4: the login page loads with its form (HTTP 200 with an empty or form-less body is the white page
    of the notice: drift), and iQ-X / iQ-4VIEW answer where configured. All read in the one gather."""
    login = gathered.get("login") or {}
    status, length, form = login.get("status"), int(login.get("length") or 0), bool(login.get("form"))
    ok = status == 200 and length > 0 and form
    actual = f"HTTP {status} with {length} bytes" + ("" if ok or status != 200 or not length else ", no login form")
    if ok:
        status_, why = COMPLIANT, ""
    elif restoring:
        status_, why = DRIFT, "expected to load once LicGen.exe is back (see IQW-LICGEN)"
    else:
        white = ("the white page: HTTP 200 but " + ("an empty body" if not length else "no login form in it")
                 if status == 200 else "the login page is down")
        status_ = DRIFT if status == 200 else FAILED
        why = (f"{white} although LicGen.exe is in place: check the iQ-WEBX services (SRC-IQW-6) and "
               f"{desired.prefix}login_url" if present else f"{white} while LicGen.exe is missing (see IQW-LICGEN)")
    controls = [Control("IQW-LOGIN", "iQ-WEB login page loads", ("SRC-IQW-4",), "HTTP 200 with a login form",
                        actual, status_, why)]
    pages = gathered.get("pages") or {}
    for key, title, url in desired.pages:
        page = pages.get(key) or {}
        code = page.get("status")
        answers = isinstance(code, int) and 200 <= code < 400
        why = "" if answers else (
            "expected to answer once LicGen.exe is back (see IQW-LICGEN)" if restoring else
            f"{url} did not answer" + (f" ({page['error']})" if page.get("error") else "")
            + f": check the {title} service and {desired.prefix}{key}_url")
        controls.append(Control(f"IQW-{key.upper()}", f"{title} answers", ("SRC-IQW-4",), "HTTP 2xx/3xx",
                                f"HTTP {code}" if code is not None else "no response",
                                COMPLIANT if answers else DRIFT, why))
    return controls


def _scan(desired, gathered, changes, *, install: str, restoring: bool) -> list:
    """SRC-IQW-2/7: a custom Defender scan of <install>\\PACS right after a restore, in the same apply; what it
    found (Get-MpThreatDetection since the scan started, a resource under the folder) reported (SRC-IQW-3).
    Found threats or an unfinished scan are drift, and the next apply scans again ("scan again", SRC-IQW-7)."""
    defender = bool(gathered.get("antivirus"))  # {} when Defender is not available
    folder = f"{install}\\PACS"
    title, source = f"Antivirus scan of {folder} after the restore", ("SRC-IQW-2", "SRC-IQW-3", "SRC-IQW-7")
    scan = Change("IQW-SCAN", "scan", {"path": folder, "record": desired.scan_record}, "not scanned", "scanned")
    if restoring and not defender:
        return [Control("IQW-SCAN", title, source, "scanned, no threats", "not scanned", MANUAL,
                        f"Defender is not available: scan {folder} with the installed antivirus once LicGen.exe is "
                        "back, and check it for threats found (SRC-IQW-2, -3)")]
    if restoring:
        changes.append(scan)
        return [Control("IQW-SCAN", title, source, "scanned, no threats", "not scanned yet", DRIFT,
                        "a custom scan (Start-MpScan -ScanType CustomScan) follows the restore in the same apply")]
    record = _parse(gathered.get("scan_text"))
    if not record:
        return []
    scanned, started, finished = str(record.get("path") or folder), record.get("started"), record.get("finished")
    if not finished:
        if defender:
            changes.append(scan)
        return [Control("IQW-SCAN", title, source, "scanned, no threats", f"scan started {started} did not finish",
                        DRIFT, "the scan did not finish (stopped or failed): it runs again at the next apply")]
    detections = host_list(gathered.get("detections", []), "detections", dict, "dictionaries")
    found = [d for d in detections if str(d.get("time") or "") >= str(started)
             and any(_under(r, scanned) for r in d.get("resources") or [])]
    if not found:
        return [Control("IQW-SCAN", title, source, "scanned, no threats", f"scanned {finished}, no threats",
                        COMPLIANT)]
    if defender:
        changes.append(scan)
    names = "; ".join(f"{d.get('threat')} ({', '.join(d.get('resources') or [])})" for d in found[:5])
    # The names go in `actual` too: after an apply the outcome keeps `actual` and words the message itself.
    return [Control("IQW-SCAN", title, source, "scanned, no threats",
                    f"scanned {finished}, {len(found)} threat(s) found: {names}", DRIFT,
                    "review them in Defender (SRC-IQW-3); the next apply scans again (SRC-IQW-7)")]


def _under(resource: str, folder: str) -> bool:
    """A detection resource ('file:_C:\\...') inside ``folder`` (case-insensitive)."""
    kind, _sep, path = str(resource).partition(":_")
    path, folder = path.lower().rstrip("\\"), folder.lower().rstrip("\\")
    return kind.lower() == "file" and (path == folder or path.startswith(folder + "\\"))


def _third_party(gathered, target: str, present: bool) -> list:
    """Kaspersky, McAfee/Trellix...: their exclusion (SRC-IQW-9) and quarantine restore (SRC-IQW-7) are done in
    the product itself, with the steps its own documentation gives."""
    products = host_list(gathered.get("third_party", []), "third_party", dict, "dictionaries")
    if not products:
        return []
    names = ", ".join(sorted({str(p.get("name", "?")) for p in products}))
    steps = third_party_steps(products, "exclude", [target])
    if not present:
        steps += "; then " + third_party_steps(products, "restore", [target])
    return [Control("IQW-THIRD-PARTY", "LicGen.exe excluded (and restored) in the third-party antivirus",
                    ("SRC-IQW-7", "SRC-IQW-9"), "excluded" if present else "excluded and restored",
                    f"{names} detected", MANUAL, steps)]


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
