# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft Defender exclusions: validate, compare the way Defender does, plan. No I/O.

Exclusions are compared case-insensitively, after expanding environment variables with the
host's own values and dropping trailing backslashes. Only exclusions this collection added
(listed in an ownership record on the host) are ever removed. Every exclusion carries the vendor
requirement it comes from, because security teams alert on exclusion changes.
"""

from __future__ import annotations

import dataclasses
import json
import re

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
    windows_path,
)

KINDS = ("path", "process", "extension")
CMDLET_PARAMETER = {"path": "ExclusionPath", "process": "ExclusionProcess", "extension": "ExclusionExtension"}
# Characters Windows never allows in a path; everything else (; $() ` ' %) is literal data.
INVALID_PATH = re.compile(r'["<>|\x00-\x1f]')
EXTENSION = re.compile(r"^\.?[A-Za-z0-9_-]{1,16}\Z")
ENV_VAR = re.compile(r"%([A-Za-z_][A-Za-z0-9_()]*)%")
# Products whose antivirus configuration is the vendor's: nothing is changed there, by product.
# DirectView: customer antivirus not supported (SRC-CS-6). ImageView: the same host-based IPS as DirectView
# (SRC-CS-4); only "some" ImageView systems allow third-party AV (SRC-CS-5), and which ones is Carestream's call.
REFUSING_PRODUCTS = {
    "carestream_directview": ("SRC-CS-6", "customer antivirus is not supported on Carestream DirectView (SRC-CS-6)"),
    "carestream_imageview": ("SRC-CS-4", "Carestream ImageView is protected by Carestream's host-based IPS (SRC-CS-4); "
                             "where Carestream allows third-party antivirus on an ImageView system (SRC-CS-5), enter "
                             "the exclusions Carestream publishes for it (SRC-CS-10) by hand"),
}
# What Get-MpPreference shows in place of the exclusion lists when the HideExclusionsFromLocalAdmins
# policy hides them ("N/A: Must be and administrator to view exclusions", sic; other builds word it
# differently). No real exclusion starts with "N/A:" (':' is not allowed there in a path, process or
# extension). Microsoft: Defender CSP, Configuration/HideExclusionsFromLocalAdmins.
PLACEHOLDER = re.compile(r"^\s*N/A\s*:", re.IGNORECASE)
HIDDEN_MESSAGE = ("Defender hides its exclusion lists from local administrators (HideExclusionsFromLocalAdmins "
                  "policy): they cannot be read here, so nothing is added or removed; check them where that policy "
                  "is managed (Group Policy, Intune)")

# Services that reveal a third-party antivirus product (the names those products install). Security Center
# (root/SecurityCenter2 AntiVirusProduct) names them on client Windows only, so services are read too.
THIRD_PARTY_SERVICES = {
    "AVP": "Kaspersky", "klnagent": "Kaspersky Security Center agent", "McAfeeFramework": "McAfee/Trellix",
    "mfemms": "McAfee/Trellix", "masvc": "McAfee/Trellix Agent", "SepMasterService": "Symantec Endpoint Protection",
    "Sophos Endpoint Defense Service": "Sophos", "SAVService": "Sophos", "ntrtscan": "Trend Micro",
    "TmListen": "Trend Micro", "ekrn": "ESET", "CSFalconService": "CrowdStrike Falcon",
}
# The vendor's own documented procedure, per product family (matched in the detected name). What the
# product's help says, condensed; the SRC ids stay the vendor notes' (SRC-IQW-7/9, SRC-CS-5).
THIRD_PARTY_STEPS = {
    "kaspersky": {
        "exclude": ("Kaspersky Endpoint Security: Settings > General settings > Exclusions (Exclusions and types of "
                    "detected objects) > Scan exclusions > Add, object = {value} (a folder: with its subfolders); on "
                    "a managed computer add it to the Kaspersky Security Center policy's trusted zone (local "
                    "exclusions count only if the policy allows them) [Kaspersky Endpoint Security for Windows Help: "
                    "'Creating a scan exclusion', 'Local trusted zone', support.kaspersky.com/KESWin]"),
        "restore": ("Kaspersky Endpoint Security: Backup (Storage) > select {value} (original folder shown) > Restore; "
                    "it returns to its original folder, a file marked 'will be disinfected on restart' cannot be "
                    "restored before a restart [Kaspersky Endpoint Security for Windows Help: 'Restoring files from "
                    "Backup', support.kaspersky.com/KESWin/11.2.0/en-us/128132.htm]"),
    },
    "mcafee": {
        "exclude": ("McAfee/Trellix Endpoint Security Threat Prevention: On-Access Scan policy > Exclusions > Add, "
                    "file name/location = {value} (a folder: end it with a backslash and tick 'Also exclude "
                    "subfolders'); set it in the ePolicy Orchestrator policy on managed systems, and in the "
                    "On-Demand Scan exclusions too [McAfee Endpoint Security Threat Prevention Product Guide, "
                    "On-Access Scan exclusions; VirusScan Enterprise 8.8 Product Guide, Exclusions tab]"),
        "restore": ("McAfee/Trellix Endpoint Security Client: Quarantine > select {value} > Restore (ePolicy "
                    "Orchestrator: the 'Restore from Quarantine' client task); rescan it with current content first "
                    "[McAfee Endpoint Security Product Guide, quarantine; VirusScan Enterprise 8.8 Product Guide, "
                    "Quarantine Manager]"),
    },
}


def third_party_family(name: str) -> str:
    """'kaspersky', 'mcafee' or '' for a detected product's display or service label."""
    low = name.lower()
    if "kaspersky" in low:
        return "kaspersky"
    if "mcafee" in low or "trellix" in low:
        return "mcafee"
    return ""


def third_party_steps(products: list, step: str, values: list) -> str:
    """The product's own documented steps (step: exclude | restore) for each value, once per product family;
    products without a known procedure get the plain list for their own console."""
    out, done = [], set()
    for name in sorted({str(p.get("name", "?")) for p in products}):
        family = third_party_family(name)
        if family in done:
            continue
        done.add(family)
        if family:
            out += [THIRD_PARTY_STEPS[family][step].format(value=v) for v in values]
        else:
            out.append(f"{name}: {step} in its own console: {', '.join(values)}")
    return "; ".join(out)


@dataclasses.dataclass(frozen=True)
class Exclusion:
    kind: str
    value: str
    source: tuple
    product: str = ""


@dataclasses.dataclass(frozen=True)
class Desired:
    state: str
    exclusions: tuple
    exclusive: bool
    products: tuple
    owner_record: str
    prefix: str = ""
    retired: tuple = ()     # Retired: exclusions earlier versions added that no source asks for


@dataclasses.dataclass(frozen=True)
class Retired:
    kind: str
    value: str
    source: tuple
    reason: str


def validate(args: dict, prefix: str = "") -> Desired:
    state = str(args.get("state") or "present")
    if state not in ("present", "absent"):
        raise ArgumentError(f"{prefix}state", f"{state!r} is not allowed; allowed: present, absent")
    items = args.get("exclusions") or []
    if not isinstance(items, list):
        raise ArgumentError(f"{prefix}exclusions", "must be a list of {kind, value, source}")
    out, seen, origins = [], set(), {}
    for i, item in enumerate(items):
        var, value_var = _origin(item, origins) or (f"{prefix}exclusions[{i}]", f"{prefix}exclusions[{i}].value")
        if not isinstance(item, dict):
            raise ArgumentError(var, "must be a dictionary with keys kind, value, source, product")
        unknown = sorted(str(k) for k in set(item) - {"kind", "value", "source", "product", "variable"})
        if unknown:
            raise ArgumentError(var, f"unknown keys {unknown} in {_describe(item)}; allowed: kind, value, source, "
                                     "product")
        kind = str(item.get("kind", "path"))
        if kind not in KINDS:
            raise ArgumentError(f"{var}.kind", f"{kind!r} is not allowed; allowed: {', '.join(KINDS)}")
        value = _checked_value(kind, item.get("value"), value_var)
        source = tuple(as_names(item.get("source"), f"{var}.source"))
        if not source:
            raise ArgumentError(f"{var}.source", "every exclusion needs the vendor requirement it comes from "
                                                 "(e.g. SRC-LRM-6): security teams must see why it exists")
        key = (kind, value.lower())
        if key not in seen:
            seen.add(key)
            out.append(Exclusion(kind, value, source, str(item.get("product") or "")))
    record = windows_path(args.get("owner_record"), f"{prefix}owner_record", "file path")
    exclusive = as_bool(args.get("exclusive"), f"{prefix}exclusive")
    products = as_names(args.get("products"), "meddev_products" if prefix else "products")
    return Desired(state, tuple(out), exclusive, tuple(products), record, prefix, _retired(args.get("retired"), prefix))


def _retired(items, prefix: str) -> tuple:
    """Exclusions this collection no longer adds (e.g. C:\\Illumina, a misread of SRC-LRM-6), with why."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ArgumentError(f"{prefix}retired", "must be a list of {kind, value, source, reason}")
    out = []
    for i, item in enumerate(items):
        var = f"{prefix}retired[{i}]"
        if not isinstance(item, dict) or set(item) - {"kind", "value", "source", "reason", "variable"}:
            raise ArgumentError(var, "must be a dictionary with keys kind, value, source, reason")
        value_var = str(item.get("variable") or f"{var}.value")  # the role names the variable it came from
        kind = str(item.get("kind", "path"))
        if kind not in KINDS:
            raise ArgumentError(f"{var}.kind", f"{kind!r} is not allowed; allowed: {', '.join(KINDS)}")
        out.append(Retired(kind, _checked_value(kind, item.get("value"), value_var),
                           tuple(as_names(item.get("source"), f"{var}.source")), str(item.get("reason") or "")))
    return tuple(out)


def _origin(item, counts: dict):
    """(name of the item, name of its value) in errors, when the caller says which variable the item came from:
    ``variable: av_exclusions_illumina_folder`` (the value itself) or ``av_exclusions_extra[]`` (a list of items)."""
    origin = item.get("variable") if isinstance(item, dict) else None
    if not isinstance(origin, str) or not origin:
        return None
    if origin.endswith("[]"):
        counts[origin] = counts.get(origin, -1) + 1
        name = f"{origin[:-2]}[{counts[origin]}]"
        return name, f"{name}.value"
    return origin, origin


def _describe(item: dict) -> str:
    """Which exclusion an error is about: the role builds the list from several variables."""
    value = item.get("value")
    return f"the exclusion {value!r}" if isinstance(value, str) else "this exclusion"


def _checked_value(kind: str, value, variable: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(variable, "must be a non-empty string")
    if len(value) > 260:
        raise ArgumentError(variable, "is longer than 260 characters (MAX_PATH)")
    if kind == "extension":
        if not EXTENSION.match(value):
            raise ArgumentError(variable, f"{value!r} is not a file extension like .dcm or dcm")
        return value if value.startswith(".") else f".{value}"
    if INVALID_PATH.search(value):
        raise ArgumentError(variable, f"{value!r} contains a character Windows never allows in a path "
                                      '(" < > | or a control character such as a newline)')
    if kind == "path" and not re.match(r"^([A-Za-z]:\\|\\\\|%[A-Za-z_]+%)", value):
        raise ArgumentError(variable, f"{value!r} is not an absolute path (C:\\..., \\\\server\\..., %VAR%\\...)")
    return value


def host_list(value, name: str, item_type=str, what: str = "strings") -> list:
    """A list from the gathered host state, as the host module must return it. Anything else - null, a bare
    string (PowerShell unrolls a one-item array returned from a function) - is a malformed state: refused,
    never iterated character by character."""
    if isinstance(value, list) and all(isinstance(item, item_type) for item in value):
        return value
    shown = repr(value)
    raise ArgumentError(f"host state {name}", f"must be a list of {what}, got "
                                              f"{type(value).__name__} {shown[:60]}: the host module returned a "
                                              "malformed state")


def host_lists(gathered: dict, key: str) -> dict:
    """``exclusions`` / ``policy`` of a gathered state: kind -> list of strings (a kind not reported is empty)."""
    section = gathered.get(key, {})
    if not isinstance(section, dict):
        raise ArgumentError(f"host state {key}", f"must be a dictionary kind -> list, got {type(section).__name__}")
    return {k: host_list(section.get(k, []), f"{key}.{k}") for k in KINDS}


def is_placeholder(value: str) -> bool:
    """The text Defender shows instead of a hidden exclusion list (never an exclusion)."""
    return bool(PLACEHOLDER.match(value))


def canonical(kind: str, value: str, environment: dict) -> str:
    """The comparison key: variables expanded with the host's values, case folded, no trailing \\."""
    env = {k.lower(): v for k, v in (environment or {}).items()}
    text = ENV_VAR.sub(lambda m: env.get(m.group(1).lower(), m.group(0)), value)
    if kind == "extension":
        return text.lstrip(".").lower()
    text = text.rstrip("\\") if not re.match(r"^[A-Za-z]:\\$", text) else text
    return text.lower()


def _index(values, kind, environment) -> dict:
    """Comparison key -> the value exactly as the host stores it (removal must name that)."""
    return {canonical(kind, v, environment): v for v in values or []}


def _control_id(kind: str, value: str) -> str:
    return f"AV-EXCL-{kind.upper()}:{value}"


def plan(desired: Desired, gathered: dict) -> Plan:
    env = gathered.get("environment") or {}
    defender = gathered.get("defender") or {}
    local_lists, policy_lists = host_lists(gathered, "exclusions"), host_lists(gathered, "policy")
    # Hidden lists: reported by the host, or a placeholder that slipped through - never an exclusion.
    hidden = bool(gathered.get("exclusions_hidden")) or any(
        is_placeholder(v) for vs in local_lists.values() for v in vs)
    local = {k: {} if hidden else _index(local_lists[k], k, env) for k in KINDS}
    policy = {k: _index([v for v in policy_lists[k] if not is_placeholder(v)], k, env) for k in KINDS}
    owned = [(o["kind"], o["value"]) for o in parse_owned(gathered.get("owned_text")) if o.get("kind") in KINDS]
    owned_keys = {(k, canonical(k, v, env)) for k, v in owned}
    controls, changes = [], []

    refusing = [p for p in desired.products if p in REFUSING_PRODUCTS]
    if refusing:
        reason = ("; ".join(REFUSING_PRODUCTS[p][1] for p in refusing)
                  + ": nothing is changed; exclusions are the vendor's to manage")
        sources = tuple(dict.fromkeys(REFUSING_PRODUCTS[p][0] for p in refusing))
        return Plan((Control("AV-SUPPORTED", "Customer antivirus configuration allowed", sources,
                             "supported", "not supported", NOT_APPLICABLE, reason),), ())

    status_controls, usable = _defender_controls(desired, gathered, hidden)
    controls += status_controls
    seen = {"local": local, "policy": policy, "owned": owned_keys, "env": env, "hidden": hidden}
    planned = set()
    for item in desired.exclusions:
        key = (item.kind, canonical(item.kind, item.value, env))
        if key in planned:  # C:\Illumina and c:\illumina\ are one exclusion to Defender: add it once
            continue
        planned.add(key)
        control, change = _exclusion(desired, item, seen, defender, usable)
        controls.append(control)
        changes += [change] if change else []

    declared = {(i.kind, canonical(i.kind, i.value, env)) for i in desired.exclusions}
    if desired.exclusive and desired.state == "present":
        for kind, value in owned:
            key = canonical(kind, value, env)
            if (kind, key) not in declared and key in local[kind]:
                cid = f"AV-STALE-{kind.upper()}:{value}"
                controls.append(Control(cid, f"Exclusion {value} no longer declared removed", ("SRC-CS-5",),
                                        "absent", "present", DRIFT))
                stored = local[kind][key]
                changes.append(Change(cid, "remove", {"exclusion_kind": kind, "value": stored}, "present", "absent"))

    if not hidden:
        retired = _retire(desired, declared, seen)
        controls += [control for control, _change in retired]
        changes += [change for _control, change in retired if change]
    controls += _third_party(desired, gathered)
    # The ownership record lists what we add before we add it (an add that then fails is simply
    # retried), and forgets what we remove only after it is removed: never an untracked exclusion.
    adds = [c for c in changes if c.kind == "add"]
    removes = [c for c in changes if c.kind == "remove"]
    if adds:
        changes.insert(0, _ownership_change(desired, adds, owned, env))
    if removes:
        changes.append(_ownership_change(desired, adds + removes, owned, env))
    return Plan(tuple(controls), tuple(changes), facts={"exclusions_changed": [
        {"kind": c.params["exclusion_kind"], "value": c.params["value"], "action": c.kind,
         "source": next((list(x.source) for x in controls if x.id == c.control), [])}
        for c in changes if c.kind in ("add", "remove")]})


def _exclusion(desired: Desired, item: Exclusion, seen: dict, defender: dict, usable: bool):
    """The control for one declared exclusion, and the change that fixes it (or None)."""
    key = canonical(item.kind, item.value, seen["env"])
    cid = _control_id(item.kind, item.value)
    title = f"Defender {item.kind} exclusion {item.value}" + (f" ({item.product})" if item.product else "")
    in_local, in_policy = key in seen["local"][item.kind], key in seen["policy"][item.kind]
    change = {"exclusion_kind": item.kind, "value": item.value}
    if seen["hidden"] and not in_policy:
        return _hidden(desired, item, cid, title), None
    if desired.state == "absent":
        return _absent(item, seen, key, cid, title)
    if in_local or in_policy:
        via = " (set by policy)" if in_policy else ""
        return Control(cid, title, item.source, "excluded", f"excluded{via}", COMPLIANT), None
    if not usable:
        return Control(cid, title, item.source, "excluded", "absent", MANUAL,
                       "Microsoft Defender cannot take this exclusion here (see AV-DEFENDER)"), None
    if defender.get("disable_local_admin_merge"):
        return Control(cid, title, item.source, "excluded", "absent", MANUAL,
                       "DisableLocalAdminMerge=1: Defender ignores locally added exclusions; add it to the "
                       "Group Policy (Windows Defender\\Exclusions)"), None
    return (Control(cid, title, item.source, "excluded", "absent", DRIFT),
            Change(cid, "add", change, "absent", "excluded"))


def _absent(item: Exclusion, seen: dict, key: str, cid: str, title: str) -> tuple:
    """state=absent: remove the exclusion only if this collection added it."""
    in_local, in_policy = key in seen["local"][item.kind], key in seen["policy"][item.kind]
    if in_local and (item.kind, key) in seen["owned"]:
        stored = {"exclusion_kind": item.kind, "value": seen["local"][item.kind][key]}
        return (Control(cid, title, item.source, "absent", "present", DRIFT),
                Change(cid, "remove", stored, "present", "absent"))
    actual = "present (not added by this collection)" if in_local or in_policy else "absent"
    return Control(cid, title, item.source, "absent", actual, COMPLIANT), None


def _retire(desired: Desired, declared: set, seen: dict) -> list:
    """(control, change or None) per retired exclusion found on the host: removed when this collection added it
    (the ownership record lists it), reported otherwise. Absent ones say nothing."""
    out = []
    for item in desired.retired:
        key = canonical(item.kind, item.value, seen["env"])
        if (item.kind, key) in declared or key not in seen["local"][item.kind]:
            continue
        cid = f"AV-RETIRED-{item.kind.upper()}:{item.value}"
        title = f"Defender {item.kind} exclusion {item.value} that no vendor source asks for removed"
        if (item.kind, key) in seen["owned"]:
            stored = {"exclusion_kind": item.kind, "value": seen["local"][item.kind][key]}
            out.append((Control(cid, title, item.source, "absent", "present (added by this collection)", DRIFT,
                                item.reason), Change(cid, "remove", stored, "present", "absent")))
        else:
            out.append((Control(cid, title, item.source, "absent", "present (not added by this collection)", MANUAL,
                                f"{item.reason}; it was not added by this collection, so it is left in place: remove "
                                "it where it was set if nothing else needs it"), None))
    return out


def _hidden(desired: Desired, item: Exclusion, cid: str, title: str) -> Control:
    """An exclusion that Defender hides from local administrators: neither verified nor changed."""
    expected = "absent" if desired.state == "absent" else "excluded"
    return Control(cid, title, item.source, expected, "unknown (hidden by policy)", MANUAL, HIDDEN_MESSAGE)


def _defender_controls(desired: Desired, gathered: dict, hidden: bool) -> tuple:
    defender = gathered.get("defender") or {}
    mode = str(defender.get("running_mode") or "")
    if not defender.get("available"):
        return [Control("AV-DEFENDER", "Microsoft Defender takes the exclusions", ("SRC-CS-5", "SRC-IQW-9"),
                        "running (Normal)", "not available", MANUAL,
                        "Defender is not installed or not running: use the product listed under AV-THIRD-PARTY")], False
    if mode.lower() != "normal":
        # AMRunningMode (Get-MpComputerStatus): Normal, Passive Mode / Passive, SxS Passive Mode, EDR Block Mode.
        if mode:
            why = (f"AMRunningMode is {mode!r}, not 'Normal': Defender is passive and another antivirus product is "
                   "the active one; configure the exclusions there")
        else:
            why = ("Defender did not report its running mode (AMRunningMode, missing on old platform versions): "
                   "check that it is the active antivirus, or update its platform")
        return [Control("AV-DEFENDER", "Microsoft Defender takes the exclusions", ("SRC-CS-5", "SRC-IQW-9"),
                        "running (Normal)", f"running ({mode or 'unknown'})", MANUAL, why)], False
    messages = []
    if defender.get("disable_local_admin_merge"):
        messages.append("DisableLocalAdminMerge=1: only exclusions set by Group Policy take effect")
    if hidden:
        messages.append(HIDDEN_MESSAGE)
    actual = "running (Normal), exclusions hidden" if hidden else "running (Normal)"
    return [Control("AV-DEFENDER", "Microsoft Defender takes the exclusions", ("SRC-CS-5", "SRC-IQW-9"),
                    "running (Normal)", actual, MANUAL if messages else COMPLIANT, "; ".join(messages))], True


def _third_party(desired: Desired, gathered: dict) -> list:
    products = gathered.get("third_party") or []
    if not products or desired.state != "present":
        return []
    wanted = "; ".join(f"{i.kind} {i.value}" for i in desired.exclusions) or "none declared"
    names = ", ".join(sorted({p.get("name", "?") for p in products}))
    known = [p for p in products if third_party_family(str(p.get("name", "")))]
    steps = third_party_steps(known, "exclude", [i.value for i in desired.exclusions]) if desired.exclusions else ""
    return [Control("AV-THIRD-PARTY", "Exclusions set in the third-party antivirus", ("SRC-CS-3", "SRC-CS-5"),
                    "excluded in every active antivirus", f"{names} detected", MANUAL,
                    f"add in {names}'s own console: {wanted}" + (f". How: {steps}" if steps else ""))]


def _ownership_change(desired: Desired, changes: list, owned: list, env: dict) -> Change:
    record = {canonical(k, v, env): {"kind": k, "value": v} for k, v in owned}
    for change in changes:
        kind, value = change.params["exclusion_kind"], change.params["value"]
        key = canonical(kind, value, env)
        if change.kind == "add":
            record[key] = {"kind": kind, "value": value}
        else:
            record.pop(key, None)
    content = json.dumps({"owner": "meddev.hardening", "exclusions": sorted(record.values(),
                                                                            key=lambda e: (e["kind"], e["value"]))},
                         indent=2) + "\n"
    return Change(changes[0].control, "record_owned", {"path": desired.owner_record, "content": content},
                  f"{len(owned)} owned", f"{len(record)} owned", tuple(c.control for c in changes[1:]))


def parse_owned(text) -> list:
    """The ownership record as the host holds it; unreadable means nothing is ours."""
    try:
        record = json.loads(text or "{}")
    except ValueError:
        return []
    items = record.get("exclusions") if isinstance(record, dict) else None
    return [i for i in (items if isinstance(items, list) else [])
            if isinstance(i, dict) and isinstance(i.get("kind"), str) and isinstance(i.get("value"), str)]
