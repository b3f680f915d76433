# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening baseline: catalog validation, plan, and the Windows file formats. No I/O.

Every control comes from the catalog (``baseline_catalog`` in roles/baseline/defaults/main/main.yml). One gather reads all
mechanisms; the plan batches the changes into one change per mechanism (registry values, one
security template for secedit, one auditpol backup file, services), applied in one call.
"""

from __future__ import annotations

import csv
import dataclasses
import io

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    DRIFT,
    MANUAL,
    NOT_APPLICABLE,
    ArgumentError,
    Change,
    Control,
    Plan,
    as_bool,
    as_names,
)

MECHANISMS = ("registry", "secpol", "auditpol", "service", "hotfix", "bitlocker")
AUDIT_SETTINGS = {"no_auditing": ("No Auditing", 0), "success": ("Success", 1), "failure": ("Failure", 2),
                  "success_and_failure": ("Success and Failure", 3)}
AUDIT_NAMES = {v[0].lower(): k for k, v in AUDIT_SETTINGS.items()}
# Never disabled: management (WinRM), the plumbing it needs, security, time, and the products.
# WinRM runs on RPCSS and HTTP (http.sys, `sc qc WinRM`); RPCSS on RpcEptMapper and DcomLaunch.
PROTECTED_SERVICES = {
    "winrm", "http", "rpcss", "rpceptmapper", "dcomlaunch", "eventlog", "mpssvc", "bfe", "windefend", "w32time",
    "cryptsvc", "dnscache", "lanmanworkstation", "netlogon", "termservice", "sense", "wuauserv",
    "local run manager analysis service", "local run manager job service", "universal copy service", "iq-x",
    "apache2.4", "w3svc", "was",
}
WINDOWS_10_FIRST_BUILD = 10240  # older builds (7/8.1, Server 2008 R2-2012 R2) are judged by the KB list
ARROW = "\u2192"  # old -> new in --diff, as the reports write it (report_formats.py)


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    title: str
    source: tuple
    mechanism: str
    value: object
    spec: dict            # the catalog entry as given (path, name, key, guid, type, ...)
    enabled: bool = True
    report_only: bool = False
    skip: str = ""        # the reason from baseline_skip: reported not_applicable, never gathered or applied


@dataclasses.dataclass(frozen=True)
class Desired:
    entries: tuple
    products: tuple
    prefix: str = ""


def _var(entry: dict, prefix: str) -> str:
    return entry.get("variable") or f"{prefix}catalog[{entry.get('id')}]"


def _typed(entry: dict, prefix: str):
    value, kind, variable = entry.get("value"), entry.get("type"), _var(entry, prefix)
    if entry["mechanism"] in ("service", "hotfix", "bitlocker"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ArgumentError(variable, "must be a list of names")
        # Service names (CreateService), KB ids and BitLocker methods: at most 256 printable characters.
        forbidden, rule = ("/\\", " without / or \\") if entry["mechanism"] == "service" else ("", "")
        for name in value:
            if len(name) > 256 or any(ord(c) < 32 or ord(c) == 127 or c in forbidden for c in name):
                raise ArgumentError(variable, f"{name[:60]!r} is not allowed; allowed: names of 1-256 printable "
                                    f"characters{rule}")
        return tuple(value)
    if entry["mechanism"] == "auditpol":
        if not isinstance(value, str) or value not in AUDIT_SETTINGS:
            raise ArgumentError(variable, f"{value!r} is not allowed; allowed: {', '.join(AUDIT_SETTINGS)}")
        return value
    if kind == "bool":
        if value is None:
            raise ArgumentError(variable, "None is not allowed; allowed: true, false")
        return as_bool(value, variable)
    if kind == "int":
        try:
            number = int(str(value))
        except ValueError:
            raise ArgumentError(variable, f"{value!r} is not an integer") from None
        low, high = entry.get("range") or (None, None)
        if low is not None and not low <= number <= high:
            raise ArgumentError(variable, f"{number} is out of range; allowed: {low}-{high} (SRC-PMR-7/8)")
        return number * int(entry.get("scale", 1))
    text = str(value)
    if not text or any(ord(c) < 32 for c in text) or len(text) > 1024:
        raise ArgumentError(variable, f"{text!r} is not a usable value (1-1024 printable characters)")
    return text


def _skips(skip, catalog_ids: set, prefix: str) -> dict:
    """baseline_skip as {id: reason}: a list of {id, reason} dicts, ids from the catalog, each once."""
    if skip is None:
        return {}
    if not isinstance(skip, list):
        raise ArgumentError(f"{prefix}skip", "must be a list of {id, reason} dictionaries")
    reasons = {}
    for k, item in enumerate(skip):
        where = f"{prefix}skip[{k}]"
        if not isinstance(item, dict) or set(item) != {"id", "reason"}:
            raise ArgumentError(where, "must be a dictionary with exactly the keys id and reason")
        cid, reason = item["id"], item["reason"]
        if not isinstance(cid, str) or cid not in catalog_ids:
            raise ArgumentError(f"{where}.id", f"{str(cid)[:60]!r} is not a control id of the catalog; "
                                               "the ids are listed in docs/controls.md")
        if cid in reasons:
            raise ArgumentError(f"{where}.id", f"{cid!r} is listed more than once")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 200 or not reason.isprintable():
            raise ArgumentError(f"{where}.reason", "must be a non-empty text of at most 200 printable characters")
        reasons[cid] = reason
    return reasons


def validate(args: dict, prefix: str = "") -> Desired:
    catalog = args.get("catalog") or []
    if not isinstance(catalog, list) or not all(isinstance(raw, dict) for raw in catalog):
        raise ArgumentError(f"{prefix}catalog", "must be a list of control dictionaries")
    ids = set()
    for raw in catalog:
        if (raw.get("mechanism") not in MECHANISMS or not isinstance(raw.get("id"), str) or not raw["id"]
                or raw["id"] in ids):
            raise ArgumentError(f"{prefix}catalog", f"entry {raw.get('id')!r}: needs a unique id and a mechanism "
                                                    f"from {', '.join(MECHANISMS)}")
        ids.add(raw["id"])
    skips = _skips(args.get("skip"), ids, prefix)
    entries = []
    for raw in catalog:
        enabled = as_bool(raw.get("enabled", True), _var(raw, prefix))
        # A skipped control's value is never used, so it is not checked either (like a disabled one).
        value = _typed(raw, prefix) if enabled and raw["id"] not in skips else raw.get("value")
        entries.append(Entry(raw["id"], str(raw.get("title") or raw["id"]), tuple(raw.get("source") or ()),
                             raw["mechanism"], value,
                             dict(raw), enabled, bool(raw.get("report_only")), skips.get(raw["id"], "")))
    by_id = {e.id: e for e in entries}
    reset, duration = by_id.get("BL-LOCKOUT-RESET"), by_id.get("BL-LOCKOUT-DURATION")
    if (reset and duration and reset.enabled and duration.enabled and not reset.skip and not duration.skip
            and reset.value > duration.value):
        raise ArgumentError(_var(reset.spec, prefix), f"{reset.value} minutes exceeds "
                            f"{_var(duration.spec, prefix)} ({duration.value}); allowed: 1-{duration.value} "
                            "(secedit refuses it with error 87)")
    protected = PROTECTED_SERVICES | {s.lower() for s in as_names(args.get("protected_services"),
                                                                  f"{prefix}protected_services")}
    for entry in entries:
        if entry.mechanism == "service" and entry.enabled and not entry.skip:
            refused = [s for s in entry.value if s.lower() in protected]
            if refused:
                raise ArgumentError(_var(entry.spec, prefix), f"{refused} must never be disabled: management "
                                    "(WinRM) or the medical-device products need them")
    products = as_names(args.get("products"), "meddev_products" if prefix else "products")
    return Desired(tuple(entries), tuple(products), prefix)


# -- Windows formats --------------------------------------------------------------------------------------

def parse_inf(text: str) -> dict:
    """A security template (secedit /export) as {section: {key: value}}."""
    sections, current = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip().lstrip("\ufeff")
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line and not line.startswith(";"):
            key, _sep, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def render_inf(system_access: dict) -> str:
    """A minimal template for secedit /configure /areas SECURITYPOLICY (the host writes it UTF-16LE)."""
    lines = ["[Unicode]", "Unicode=yes", "[System Access]"]
    lines += [f"{key} = {value}" for key, value in system_access.items()]
    lines += ["[Version]", 'signature="$CHICAGO$"', "Revision=1", ""]
    return "\r\n".join(lines)


def parse_auditpol(text: str) -> dict:
    """auditpol /get /category:* /r (CSV) as {GUID upper: setting name}."""
    out = {}
    for row in csv.DictReader(io.StringIO((text or "").lstrip("\ufeff"))):
        guid = (row.get("Subcategory GUID") or "").strip().upper()
        if guid:
            out[guid] = AUDIT_NAMES.get((row.get("Inclusion Setting") or "").strip().lower(), "no_auditing")
    return out


def render_auditpol(settings: dict) -> str:
    """An auditpol /restore file setting only the given subcategories."""
    rows = ["Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value"]
    for guid, (name, setting) in settings.items():
        label, number = AUDIT_SETTINGS[setting]
        rows.append(f",System,{name},{guid},{label},,{number}")
    return "\r\n".join(rows) + "\r\n"


# -- plan --------------------------------------------------------------------------------------------------

def _applies(entry: Entry, products: tuple) -> bool:
    targets = entry.spec.get("applies_to") or ["all"]
    return "all" in targets or any(p in targets for p in products)


def _secpol_value(entry: Entry) -> int:
    return int(entry.value)


def _shown(entry: Entry, value) -> str:
    """A value as --diff and the report show it; a catalog entry marked ``no_log`` never shows its value."""
    return "(hidden: no_log)" if entry.spec.get("no_log") else str(value)


def _registry(entry: Entry, state: dict, batch: list, lines: list) -> Control:
    current = state["registry"].get(entry.spec["path"].lower(), {}).get(entry.spec["name"].lower())
    ok = current is not None and str(current) == str(entry.value)
    if not ok:
        batch.append({"path": entry.spec["path"], "name": entry.spec["name"],
                      "type": "dword" if entry.spec.get("type") == "int" else "string", "value": entry.value})
        lines.append((f"{entry.spec['path']}\\{entry.spec['name']}",
                      "absent" if current is None else _shown(entry, current), _shown(entry, entry.value)))
    return Control(entry.id, entry.title, entry.source, f"{entry.spec['name']}={_shown(entry, entry.value)}",
                   f"{entry.spec['name']}={'absent' if current is None else _shown(entry, current)}",
                   COMPLIANT if ok else DRIFT)


def _secpol(entry: Entry, state: dict, batch: dict, lines: list) -> Control:
    want, current = _secpol_value(entry), state["secpol"].get(entry.spec["key"])
    ok = current is not None and str(current) == str(want)
    if not ok:
        batch[entry.spec["key"]] = want
        lines.append((entry.spec["key"], "unset" if current is None else _shown(entry, current), _shown(entry, want)))
    return Control(entry.id, entry.title, entry.source, f"{entry.spec['key']} = {_shown(entry, want)}",
                   f"{entry.spec['key']} = {_shown(entry, current) if current is not None else 'unset'}",
                   COMPLIANT if ok else DRIFT)


def _auditpol(entry: Entry, state: dict, batch: dict, lines: list) -> Control:
    guid = entry.spec["guid"].upper()
    current = state["audit"].get(guid, "no_auditing")
    if current != entry.value:
        batch[guid] = (entry.title.replace("Audit ", "", 1), entry.value)
        lines.append((f"{batch[guid][0]} {guid}", AUDIT_SETTINGS[current][0], AUDIT_SETTINGS[entry.value][0]))
    return Control(entry.id, entry.title, entry.source, entry.value, current,
                   COMPLIANT if current == entry.value else DRIFT)


EVALUATE = {"registry": _registry, "secpol": _secpol, "auditpol": _auditpol}
RENDER = {
    "registry": ("set_registry", lambda batch: {"values": batch}),
    "secpol": ("apply_secpol", lambda batch: {"inf": render_inf(batch)}),
    "auditpol": ("apply_auditpol", lambda batch: {"csv": render_auditpol(batch)}),
    "service": ("disable_services", lambda batch: {"services": batch}),
}
WHAT = {"registry": "registry values", "secpol": "security policy ([System Access], secedit)",
        "auditpol": "advanced audit policy (auditpol /restore)", "service": "services"}


def plan(desired: Desired, gathered: dict) -> Plan:
    state = {
        "registry": {k.lower(): {n.lower(): v for n, v in values.items()}
                     for k, values in (gathered.get("registry") or {}).items()},
        "secpol": parse_inf(gathered.get("secpol_inf") or "").get("System Access", {}),
        "audit": parse_auditpol(gathered.get("auditpol_csv") or ""),
        "services": {k.lower(): v for k, v in (gathered.get("services") or {}).items()},
    }
    controls, batches = [], {"registry": [], "secpol": {}, "auditpol": {}, "service": []}
    ids = {m: [] for m in batches}
    settings = {m: [] for m in batches}  # (control, title, [(setting, old, new)]) for --diff, per mechanism
    for entry in desired.entries:
        if entry.skip:
            controls.append(Control(entry.id, entry.title, entry.source, "n/a", "n/a", NOT_APPLICABLE,
                                    f"skipped: {entry.skip}"))
        elif not entry.enabled or not _applies(entry, desired.products):
            why = "not declared for this host" if not entry.enabled else "not for this host's products"
            controls.append(Control(entry.id, entry.title, entry.source, "n/a", "n/a", NOT_APPLICABLE,
                                    f"{why} ({entry.spec.get('variable') or 'catalog'})"))
        elif entry.mechanism in EVALUATE:
            lines = []
            control = EVALUATE[entry.mechanism](entry, state, batches[entry.mechanism], lines)
            controls.append(control)
            if control.status == DRIFT:
                ids[entry.mechanism].append(control.id)
                settings[entry.mechanism].append((control.id, control.title, lines))
        elif entry.mechanism == "service":
            for name in entry.value:
                control = _service(entry, name, state["services"].get(name.lower()), batches, ids)
                controls.append(control)
                if control.status == DRIFT:
                    settings["service"].append((control.id, control.title,
                                                [(name, control.actual, "disabled, stopped")]))
        else:
            controls.append(_check_only(entry, gathered))
    _lockout_pair(batches, desired)
    changes = []
    for mechanism, (kind, render) in RENDER.items():
        if batches[mechanism]:
            first, *rest = ids[mechanism]
            count = sum(len(lines) for _cid, _title, lines in settings[mechanism])
            changes.append(Change(first, kind, render(batches[mechanism]),
                                  f"{WHAT[mechanism]}: {count} setting(s) differ, each listed below",
                                  f"{WHAT[mechanism]}: {count} setting(s) set", tuple(rest)))
    return Plan(tuple(controls), tuple(changes), _settings_diff(settings) if changes else ())


def _settings_diff(settings: dict) -> tuple:
    """--diff, setting by setting: every value apply would change, old -> new, grouped by control.

    Ansible prints a diff's ``prepared`` text as it is, after the summary of the changes."""
    text = [f"Windows baseline, setting by setting (host now {ARROW} after apply):\n"]
    for mechanism in RENDER:
        for cid, title, lines in settings[mechanism]:
            text.append(f"{cid} ({title})\n")
            text += [f"  {setting}: {old} {ARROW} {new}\n" for setting, old, new in lines]
    return ({"prepared": "".join(text)},)


def _lockout_pair(batches: dict, desired: Desired) -> None:
    """secedit checks ResetLockoutCount <= LockoutDuration on the result: send both when either changes."""
    pending = batches["secpol"]
    if "ResetLockoutCount" in pending or "LockoutDuration" in pending:
        for entry in desired.entries:
            if (entry.mechanism == "secpol" and not entry.skip
                    and entry.spec["key"] in ("ResetLockoutCount", "LockoutDuration")):
                pending.setdefault(entry.spec["key"], _secpol_value(entry))


def _service(entry: Entry, name: str, current: dict | None, batches: dict, ids: dict) -> Control:
    cid = f"{entry.id}-{name}"
    if current is None:
        return Control(cid, f"{entry.title}: {name}", entry.source, "disabled", "not installed", COMPLIANT)
    ok = str(current.get("StartType", "")).lower() == "disabled" and current.get("Status") != "Running"
    if not ok:
        batches["service"].append(name)
        ids["service"].append(cid)
    return Control(cid, f"{entry.title}: {name}", entry.source, "disabled, stopped",
                   f"{current.get('StartType')}, {current.get('Status')}".lower(), COMPLIANT if ok else DRIFT)


def _check_only(entry: Entry, gathered: dict) -> Control:
    if entry.mechanism == "hotfix":
        return _ms17_010(entry, gathered)
    volume = gathered.get("bitlocker") or {}
    if volume.get("error"):  # Get-BitLockerVolume failed on the host: unknown, not "off"
        return Control(entry.id, entry.title, entry.source, f"protection on, {'/'.join(entry.value)}", "unreadable",
                       MANUAL, f"the BitLocker state could not be read: {volume['error']}")
    method = str(volume.get("encryption_method") or "None")
    protected = str(volume.get("protection_status") or "Off").lower() in ("on", "1")
    ok = protected and method.lower() in {m.lower() for m in entry.value}
    return Control(entry.id, entry.title, entry.source, f"protection on, {'/'.join(entry.value)}",
                   f"protection {'on' if protected else 'off'}, {method}", COMPLIANT if ok else MANUAL,
                   "" if ok else "encrypting the system drive needs planning (recovery keys, vendor approval): "
                                 "check-only here (SRC-PMR-9)")


def _number(value) -> int | None:
    """A gathered integer (build, UBR), or None when the host could not say."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def _fixed_in(entry: Entry) -> dict:
    """The catalog's ``fixed_in`` table: {build: (first fixed UBR, KB)}; keys may arrive as text."""
    table = {}
    for build, fix in (entry.spec.get("fixed_in") or {}).items():
        if _number(build) is not None and isinstance(fix, dict) and _number(fix.get("ubr")) is not None:
            table[_number(build)] = (_number(fix["ubr"]), str(fix.get("kb") or ""))
    return table


def _ms17_010(entry: Entry, gathered: dict) -> Control:
    """MS17-010 by OS build and update revision (UBR) against the first cumulative update with the fix.

    Windows 10 / Server 2016+ updates are cumulative: Get-HotFix lists only the latest one, never the
    March 2017 KB, so the KB list cannot judge them. Older Windows keeps the KB list (monthly rollups
    listed in the bulletin); a later rollup also carries the fix, so "none found" there is manual."""
    build, ubr = _number(gathered.get("os_build")), _number(gathered.get("os_ubr"))
    fixed_in, fixed_from = _fixed_in(entry), _number(entry.spec.get("fixed_from_build"))
    revision = f"{build}.{ubr if ubr is not None else '?'}"
    if build in fixed_in:
        first, kb = fixed_in[build]
        expected = f"build {build}.{first} or later ({kb})"
        if ubr is None:
            return Control(entry.id, entry.title, entry.source, expected, revision, MANUAL,
                           "the update revision (UBR) could not be read from the registry")
        ok = ubr >= first
        return Control(entry.id, entry.title, entry.source, expected, revision, COMPLIANT if ok else DRIFT,
                       "" if ok else f"install the latest cumulative update for build {build} (validated by the "
                                     "vendor): check-only here, never installed by this role")
    if build is not None and fixed_from is not None and build >= fixed_from:
        return Control(entry.id, entry.title, entry.source, f"build {fixed_from} or later (fixed at release)",
                       revision, COMPLIANT)
    if build is not None and 0 < build < WINDOWS_10_FIRST_BUILD:
        installed = {str(k).upper() for k in gathered.get("hotfixes") or []}
        found = sorted(installed & {k.upper() for k in entry.value})
        expected = f"one of {', '.join(entry.value)}"
        if found:
            return Control(entry.id, entry.title, entry.source, expected, ", ".join(found), COMPLIANT)
        return Control(entry.id, entry.title, entry.source, expected, f"build {build}, none of the KBs", MANUAL,
                       "a later monthly rollup also carries the fix: check the update history (validated by "
                       "the vendor)")
    return Control(entry.id, entry.title, entry.source, "a build with a known MS17-010 fix level",
                   "unreadable" if build is None or build == 0 else revision, MANUAL,
                   "this OS build is not in the MS17-010 table (catalog fixed_in): check it by hand")
