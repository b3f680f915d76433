# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening baseline: plan the catalog against what the host has. No I/O.

Every control comes from the catalog: ``baseline_catalog`` (vendor requirements,
roles/baseline/defaults/main/main.yml) and ``baseline_ms_catalog`` (Microsoft's security baseline, generated into
roles/baseline/defaults/main/ms_baseline.yml).
baseline_catalog.validate() resolves each entry for the host; plan() judges it against one gather and batches the
changes into one change per mechanism (registry values; one security template for [System Access],
[Privilege Rights] and [Registry Values]; one auditpol file; services), applied in one call.
"""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import baseline_evidence
from ansible_collections.meddev.hardening.plugins.module_utils import baseline_predicates as predicates
from ansible_collections.meddev.hardening.plugins.module_utils.baseline_catalog import (
    MECHANISMS,
    PROFILES,
    Desired,
    Entry,
    live,
    validate,
)
from ansible_collections.meddev.hardening.plugins.module_utils.baseline_formats import (
    AUDIT_SETTINGS,
    inf_registry_line,
    parse_auditpol,
    parse_inf,
    parse_rights,
    render_auditpol,
    render_inf,
)
from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    DRIFT,
    MANUAL,
    NOT_APPLICABLE,
    Change,
    Control,
    Plan,
)

__all__ = ["AUDIT_SETTINGS", "MECHANISMS", "PROFILES", "Desired", "Entry", "parse_auditpol", "parse_inf", "plan",
           "render_auditpol", "render_inf", "validate"]
ABSENT = predicates.ABSENT
WINDOWS_10_FIRST_BUILD = 10240  # older builds (7/8.1, Server 2008 R2-2012 R2) are judged by the KB list
ARROW = "\u2192"  # old -> new in --diff, as the reports write it (report_html.py)
REGISTRY_KIND = {"int": "dword", "str": "string"}  # the vendor catalog's short type names
SECEDIT = ("secpol", "user_right", "secopt")  # the mechanisms one security template carries


def _applies(entry: Entry, products: tuple) -> bool:
    targets = entry.spec.get("applies_to") or ["all"]
    return "all" in targets or any(p in targets for p in products)


def _shown(entry: Entry, value) -> str:
    """A value as --diff and the report show it; a catalog entry marked ``no_log`` never shows its value."""
    if entry.spec.get("no_log"):
        return "(hidden: no_log)"
    if value is ABSENT:
        return "absent"
    if entry.mechanism == "auditpol" and value in AUDIT_SETTINGS:
        return AUDIT_SETTINGS[value][0]
    return predicates.show(value)


def _expected(entry: Entry) -> dict:
    if entry.expect is not None:
        return entry.expect
    if entry.mechanism == "user_right":
        return {"contains_exactly": list(entry.value)}
    return {"equals": list(entry.value) if isinstance(entry.value, tuple) else entry.value}


# -- what the host has, per mechanism ---------------------------------------------------------------------

def _state(gathered: dict) -> dict:
    inf = parse_inf(gathered.get("secpol_inf") or "")
    gpo = gathered.get("gpo") or {}
    return {
        "registry": _lower_registry(gathered.get("registry")),
        "kinds": _lower_registry(gathered.get("registry_kinds")),
        # secedit quotes text values (NewAdministratorName = "Administrator"); numbers are bare
        "secpol": {k: v[1:-1] if len(v) > 1 and v[0] == v[-1] == '"' else v
                   for k, v in inf.get("System Access", {}).items()},
        "rights": parse_rights(inf.get("Privilege Rights", {})),
        "audit": parse_auditpol(gathered.get("auditpol_csv") or ""),
        "services": {k.lower(): v for k, v in (gathered.get("services") or {}).items()},
        "gpo": {"registry": _lower_registry(gpo.get("registry")), "secpol": gpo.get("secpol") or {},
                "user_rights": gpo.get("user_rights") or {},
                "audit": {k.upper(): v for k, v in (gpo.get("audit") or {}).items()}},
        "build": _number(gathered.get("os_build")),
    }


def _lower_registry(registry) -> dict:
    return {k.lower(): {n.lower(): v for n, v in values.items()} for k, values in (registry or {}).items()}


def _where(entry: Entry) -> tuple:
    """(the setting as a reviewer names it, the state family, the key in it)."""
    spec = entry.spec
    if entry.mechanism in ("registry", "secopt"):
        return f"{spec['path']}\\{spec['name']}", "registry", (spec["path"].lower(), spec["name"].lower())
    if entry.mechanism == "secpol":
        return spec["key"], "secpol", spec["key"]
    if entry.mechanism == "user_right":
        return spec["right"], "rights", spec["right"]
    guid = spec["guid"].upper()
    return f"{_subcategory(entry)} {guid}", "audit", guid


def _subcategory(entry: Entry) -> str:
    return entry.spec.get("subcategory") or entry.title.replace("Audit ", "", 1)


def _read(state: dict, family: str, key):
    if family == "registry":
        return state["registry"].get(key[0], {}).get(key[1], ABSENT)
    if family == "rights":
        return state["rights"].get(key, [])  # a right no one holds is not in the export
    if family == "audit":
        return state["audit"].get(key, "no_auditing")
    return state["secpol"].get(key, ABSENT)


NOT_BY_GPO = object()


def _read_gpo(state: dict, family: str, key):
    """What a domain GPO sets for the setting: NOT_BY_GPO, ABSENT (the GPO deletes the value) or the value."""
    gpo = state["gpo"]
    if family == "registry":
        value = gpo["registry"].get(key[0], {}).get(key[1], NOT_BY_GPO)
    else:
        table = {"secpol": gpo["secpol"], "rights": gpo["user_rights"], "audit": gpo["audit"]}[family]
        value = table.get(key, NOT_BY_GPO)
    return ABSENT if value is None else value


# -- plan -------------------------------------------------------------------------------------------------------

def _not_applicable(entry: Entry, state: dict, products: tuple) -> str:
    """Why the entry is not judged on this host ('' = it is)."""
    if entry.skip:
        return f"skipped: {entry.skip}"
    if not entry.enabled:
        return f"not declared for this host ({entry.spec.get('variable') or 'catalog'})"
    if not _applies(entry, products):
        return f"not for this host's products ({entry.spec.get('variable') or 'catalog'})"
    if entry.excepted:
        return entry.excepted
    first = _number(entry.spec.get("min_build"))
    if first is not None and state["build"] is not None and 0 < state["build"] < first:
        return f"not available on this OS build ({state['build']}; the setting exists from build {first})"
    return ""


def _judge(entry: Entry, state: dict, batches: dict) -> tuple:
    """(control, diff lines) for a registry/secopt/secpol/user_right/auditpol entry."""
    setting, family, key = _where(entry)
    label = entry.spec.get("name") or entry.spec.get("key") or entry.spec.get("right") or _subcategory(entry)
    expect = _expected(entry)
    current = _read(state, family, key)
    expected_text = f"{label} = {_shown(entry, predicates.describe(expect))}"
    actual_text = f"{label} = {_shown(entry, current)}"

    def control(status: str, message: str = "") -> Control:
        return Control(entry.id, entry.title, entry.source, expected_text, actual_text, status, message)

    by_gpo = _read_gpo(state, family, key)
    if by_gpo is not NOT_BY_GPO:  # never fight Group Policy: report it
        if predicates.holds(expect, by_gpo):
            return control(COMPLIANT, "set by Group Policy"), []
        return control(MANUAL, f"set by Group Policy: {_shown(entry, by_gpo)}; change it in the GPO"), []
    ok = predicates.holds(expect, current)
    kind = _wrong_kind(entry, state, key) if family == "registry" and current is not ABSENT else ""
    if kind:  # a REG_SZ "1" where Windows reads a REG_DWORD is ignored by the component: drift
        ok, actual_text = False, f"{actual_text} ({kind}, expected {_kind(entry)})"
    if entry.report_only and entry.spec.get("values") is not None:
        return control(COMPLIANT if ok else MANUAL, "" if ok else
                       f"no value to set: choose one for this site in baseline_values[{entry.id}]"), []
    if ok:
        return control(COMPLIANT), []
    _batch(entry, batches)
    return control(DRIFT), [(setting, _shown(entry, current), _shown(entry, entry.value))]


def _kind(entry: Entry) -> str:
    kind = entry.spec.get("type", "str")
    return REGISTRY_KIND.get(kind, kind)


def _wrong_kind(entry: Entry, state: dict, key: tuple) -> str:
    """The host's registry type when it is not the catalog's ('' when it is, or the host did not say)."""
    found = state["kinds"].get(key[0], {}).get(key[1])
    return found if found and found != _kind(entry) else ""


def _batch(entry: Entry, batches: dict) -> None:
    spec = entry.spec
    # A binary security option goes through the registry: its [Registry Values] text form (type 3) is not
    # documented well enough to write blind, and both end in the same registry value.
    if entry.mechanism == "registry" or (entry.mechanism == "secopt" and _kind(entry) == "binary"):
        kind = _kind(entry)
        value = list(entry.value) if isinstance(entry.value, tuple) else entry.value
        batches["registry"].append({"path": spec["path"], "name": spec["name"], "type": kind, "value": value})
    elif entry.mechanism == "secopt":
        batches["secopt"].append(inf_registry_line(spec["path"], spec["name"], _kind(entry), entry.value))
    elif entry.mechanism == "secpol":
        value = entry.value
        batches["secpol"][spec["key"]] = int(value) if isinstance(value, (bool, int)) else f'"{value}"'
    elif entry.mechanism == "user_right":
        batches["user_right"][spec["right"]] = list(entry.value)
    else:
        batches["auditpol"][spec["guid"].upper()] = (_subcategory(entry), entry.value)


RENDER = {
    "registry": ("set_registry", lambda b: {"values": b["registry"]}),
    "secedit": ("apply_secpol", lambda b: {"inf": render_inf(b["secpol"], b["user_right"], b["secopt"])}),
    "auditpol": ("apply_auditpol", lambda b: {"csv": render_auditpol(b["auditpol"])}),
    "service": ("disable_services", lambda b: {"services": b["service"]}),
}
WHAT = {"registry": "registry values",
        "secedit": "security policy (one secedit template: [System Access], [Privilege Rights], [Registry Values])",
        "auditpol": "advanced audit policy (auditpol /restore)", "service": "services"}


def _group(entry: Entry) -> str:
    if entry.mechanism == "secopt" and _kind(entry) == "binary":
        return "registry"
    return "secedit" if entry.mechanism in SECEDIT else entry.mechanism


def plan(desired: Desired, gathered: dict) -> Plan:
    state = _state(gathered)
    batches = {"registry": [], "secopt": [], "secpol": {}, "user_right": {}, "auditpol": {}, "service": []}
    ids = {group: [] for group in RENDER}
    settings = {group: [] for group in RENDER}  # (control, title, [(setting, old, new)]) for --diff
    controls = []
    for entry in desired.entries:
        why = _not_applicable(entry, state, desired.products)
        if why:
            controls.append(Control(entry.id, entry.title, entry.source, "n/a", "n/a", NOT_APPLICABLE, why))
        elif entry.mechanism == "service":
            for name in entry.value:
                control = _service(entry, name, state["services"].get(name.lower()), batches, ids)
                controls.append(control)
                if control.status == DRIFT:
                    settings["service"].append((control.id, control.title,
                                                [(name, control.actual, "disabled, stopped")]))
        elif entry.mechanism in ("hotfix", "bitlocker"):
            controls.append(_check_only(entry, gathered))
        elif entry.mechanism == "evidence":  # check-only evidence (issue 14): baseline_evidence.py
            controls.append(baseline_evidence.evaluate(entry, gathered))
        else:
            control, lines = _judge(entry, state, batches)
            controls.append(control)
            if control.status == DRIFT:
                ids[_group(entry)].append(control.id)
                settings[_group(entry)].append((control.id, control.title, lines))
    controls += _profile_check(desired, gathered)
    _lockout_pair(batches, desired)
    changes = []
    for group, (kind, render) in RENDER.items():
        if ids[group]:
            first, *rest = ids[group]
            count = sum(len(lines) for _cid, _title, lines in settings[group])
            changes.append(Change(first, kind, render(batches),
                                  f"{WHAT[group]}: {count} setting(s) differ, each listed below",
                                  f"{WHAT[group]}: {count} setting(s) set", tuple(rest)))
    return Plan(tuple(controls), tuple(changes), _settings_diff(settings) if changes else ())


def _profile_check(desired: Desired, gathered: dict) -> list:
    """BL-PROFILE: the Microsoft baseline profile matches the host's domain membership (when the host says)."""
    joined = gathered.get("part_of_domain")
    if not isinstance(joined, bool):
        return []
    fits = "member_server" if joined else "workgroup"
    ok = desired.profile == fits
    return [Control("BL-PROFILE", "Baseline profile matches domain membership", ("SRC-PMR-2",), f"profile {fits}",
                    f"profile {desired.profile}, {'joined to a domain' if joined else 'not joined to a domain'}",
                    COMPLIANT if ok else MANUAL,
                    "" if ok else f"set baseline_profile: {fits} for this host (inventory)")]


def _settings_diff(settings: dict) -> tuple:
    """--diff, setting by setting: every value apply would change, old -> new, grouped by control.

    Ansible prints a diff's ``prepared`` text as it is, after the summary of the changes."""
    text = [f"Windows baseline, setting by setting (host now {ARROW} after apply):\n"]
    for group in RENDER:
        for cid, title, lines in settings[group]:
            text.append(f"{cid} ({title})\n")
            text += [f"  {setting}: {old} {ARROW} {new}\n" for setting, old, new in lines]
    return ({"prepared": "".join(text)},)


def _lockout_pair(batches: dict, desired: Desired) -> None:
    """secedit checks ResetLockoutCount <= LockoutDuration on the result: send both when either changes."""
    pending = batches["secpol"]
    if "ResetLockoutCount" in pending or "LockoutDuration" in pending:
        for entry in desired.entries:
            if (entry.mechanism == "secpol" and live(entry)
                    and entry.spec["key"] in ("ResetLockoutCount", "LockoutDuration")):
                pending.setdefault(entry.spec["key"], int(entry.value))


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
