# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline catalog as the plan uses it: every entry checked and resolved for one host. No I/O.

Resolving an entry answers, before anything on the host is read: which value apply would set (the
profile's value or the user's override), what counts as compliant (the entry's predicate), and whether
the entry is excepted on this host (skip, product conflict, profile, owner role, management guard).
"""

from __future__ import annotations

import dataclasses
import re

from ansible_collections.meddev.hardening.plugins.module_utils import baseline_predicates as predicates
from ansible_collections.meddev.hardening.plugins.module_utils.baseline_formats import AUDIT_SETTINGS
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError, as_bool, as_names

CHECK_ONLY = ("hotfix", "bitlocker", "evidence")  # read and judged, never changed
MECHANISMS = ("registry", "secopt", "secpol", "user_right", "auditpol", "service", "hotfix", "bitlocker", "evidence")
PROFILES = ("workgroup", "member_server")
PRODUCTS = ("illumina_lrm", "iqwebx", "carestream_imagesuite", "carestream_directview", "carestream_imageview",
            "philips_mr")
INT_TYPES, TEXT_TYPES = ("int", "dword", "qword"), ("str", "string", "expand_string")
REGISTRY_TYPES = ("dword", "qword", "string", "expand_string", "multi_string", "binary", "int", "str")
HOLDER = re.compile(r"^\*S-1-\d+(-\d+)*$|^[^,\x00-\x1f]{1,256}$")  # "*S-..." or an account name, no comma
# Never disabled: management (WinRM), the plumbing it needs, security, time, and the products.
# WinRM runs on RPCSS and HTTP (http.sys, `sc qc WinRM`); RPCSS on RpcEptMapper and DcomLaunch.
PROTECTED_SERVICES = {
    "winrm", "http", "rpcss", "rpceptmapper", "dcomlaunch", "eventlog", "mpssvc", "bfe", "windefend", "w32time",
    "cryptsvc", "dnscache", "lanmanworkstation", "netlogon", "termservice", "sense", "wuauserv",
    "local run manager analysis service", "local run manager job service", "universal copy service", "iq-x",
    "apache2.4", "w3svc", "was",
}


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    title: str
    source: tuple
    mechanism: str
    value: object
    spec: dict            # the catalog entry as given (path, name, key, right, guid, type, ...)
    enabled: bool = True
    report_only: bool = False
    skip: str = ""        # the reason from baseline_skip: reported not_applicable, never gathered or applied
    expect: dict | None = None   # the compliance predicate; None = equals the value
    excepted: str = ""    # why the entry does not apply to this host (reported not_applicable), decided here


@dataclasses.dataclass(frozen=True)
class Desired:
    entries: tuple
    products: tuple
    prefix: str = ""
    profile: str = "workgroup"


def variable_of(entry: dict, prefix: str) -> str:
    if entry.get("variable"):
        return entry["variable"]
    table = "ms_catalog" if entry.get("ms_name") and str(entry.get("id", "")).startswith("MS-") else "catalog"
    return f"{prefix}{table}[{entry.get('id')}]"


def _names(value, variable: str, mechanism: str) -> tuple:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ArgumentError(variable, "must be a list of names")
    # Service names (CreateService), KB ids and BitLocker methods: at most 256 printable characters.
    forbidden, rule = ("/\\", " without / or \\") if mechanism == "service" else ("", "")
    for name in value:
        if len(name) > 256 or any(ord(c) < 32 or ord(c) == 127 or c in forbidden for c in name):
            raise ArgumentError(variable, f"{name[:60]!r} is not allowed; allowed: names of 1-256 printable "
                                f"characters{rule}")
    return tuple(value)


def _integer(entry: dict, value, variable: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ArgumentError(variable, f"{value!r} is not an integer") from None
    low, high = entry.get("range") or (None, None)
    if low is not None and (number < low or (high is not None and number > high)):
        allowed = f"{low}-{high}" if high is not None else f"{low} or more"
        raise ArgumentError(variable, f"{number} is out of range; allowed: {allowed} "
                                      f"({', '.join(entry.get('source') or ()) or 'catalog'})")
    return number * int(entry.get("scale", 1))


def _text(value, variable: str, empty_ok: bool = False) -> str:
    text = "" if value is None else str(value)
    if (not text and not empty_ok) or any(ord(c) < 32 for c in text) or len(text) > 1024:
        raise ArgumentError(variable, f"{text[:60]!r} is not a usable value (1-1024 printable characters)")
    return text


def _string_list(value, variable: str, pattern=None) -> tuple:
    if not isinstance(value, list):
        raise ArgumentError(variable, "must be a list")
    for item in value:
        if not isinstance(item, str) or (pattern is not None and not pattern.match(item)) or len(item) > 1024:
            raise ArgumentError(variable, f"{str(item)[:60]!r} is not allowed; allowed: "
                                + ('"*S-1-..." SIDs or account names without commas' if pattern else "texts"))
    return tuple(value)


def _audit(entry: dict, value, variable: str) -> str:
    if not isinstance(value, str) or value not in AUDIT_SETTINGS:
        raise ArgumentError(variable, f"{value!r} is not allowed; allowed: {', '.join(AUDIT_SETTINGS)}")
    return value


def _boolean(entry: dict, value, variable: str) -> bool:
    if value is None:
        raise ArgumentError(variable, "None is not allowed; allowed: true, false")
    return as_bool(value, variable)


def _binary(entry: dict, value, variable: str) -> str:
    text = _text(value, variable, empty_ok=True).lower()
    if len(text) % 2 or not re.fullmatch(r"[0-9a-f]*", text):
        raise ArgumentError(variable, f"{text[:60]!r} is not allowed; allowed: hex digits, two per byte")
    return text


# (mechanism or type) -> how a value of it is checked and typed
TYPERS = {
    "service": lambda entry, value, variable: _names(value, variable, "service"),
    "hotfix": lambda entry, value, variable: _names(value, variable, "hotfix"),
    "bitlocker": lambda entry, value, variable: _names(value, variable, "bitlocker"),
    "auditpol": _audit,
    "user_right": lambda entry, value, variable: _string_list(value, variable, HOLDER),
    "bool": _boolean,
    "multi_string": lambda entry, value, variable: _string_list(value, variable),
    "binary": _binary,
}


def typed(entry: dict, value, variable: str):
    """``value`` as the entry's mechanism and type need it, or ArgumentError naming ``variable``."""
    mechanism, kind = entry["mechanism"], entry.get("type")
    typer = TYPERS.get(mechanism) or TYPERS.get(kind)
    if typer is not None:
        return typer(entry, value, variable)
    if kind in INT_TYPES:
        return _integer(entry, value, variable)
    return _text(value, variable, empty_ok=mechanism == "secpol")


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


def _conflicts(table, products: list, catalog_ids: set, prefix: str) -> dict:
    """baseline_product_conflicts for this host's products as {id: "conflicts with SRC-…: reason"}."""
    variable = f"{prefix}product_conflicts"
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ArgumentError(variable, f"must be a dictionary of product -> list of {{id, source, reason}}; "
                                      f"products: {', '.join(PRODUCTS)}")
    found = {}
    for product, items in table.items():
        if product not in PRODUCTS:
            raise ArgumentError(variable, f"{str(product)[:60]!r} is not a product; allowed: {', '.join(PRODUCTS)}")
        if not isinstance(items, list):
            raise ArgumentError(f"{variable}.{product}", "must be a list of {id, source, reason}")
        for k, item in enumerate(items):
            where = f"{variable}.{product}[{k}]"
            if not isinstance(item, dict) or set(item) != {"id", "source", "reason"}:
                raise ArgumentError(where, "must be a dictionary with exactly the keys id, source and reason")
            if item["id"] not in catalog_ids:
                raise ArgumentError(f"{where}.id", f"{str(item['id'])[:60]!r} is not a control id of the catalog")
            if not re.fullmatch(r"SRC-[A-Z]+-\d+", str(item["source"])):
                raise ArgumentError(f"{where}.source", "must be a vendor requirement id such as SRC-LRM-9")
            if product in products and item["id"] not in found:
                found[item["id"]] = f"conflicts with {item['source']} ({product}): {_text(item['reason'], where)}"
    return found


def _overrides(values, catalog: dict, prefix: str) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ArgumentError(f"{prefix}values", "must be a dictionary of control id -> value")
    for cid in values:
        if cid not in catalog:
            raise ArgumentError(f"{prefix}values", f"{str(cid)[:60]!r} is not a control id of the catalog; "
                                                   "the ids are listed in docs/controls.md")
        if catalog[cid]["mechanism"] in ("service", "hotfix", "bitlocker"):
            raise ArgumentError(f"{prefix}values[{cid}]", "this control takes its value from "
                                f"{catalog[cid].get('variable')}, not from {prefix}values")
    return values


def management_account(management: dict) -> str:
    """'local' or 'domain': the account Ansible manages the host with (user@realm or DOMAIN\\user = domain)."""
    declared = str(management.get("account") or "auto")
    if declared in ("local", "domain"):
        return declared
    user = str(management.get("user") or "")
    domain, sep, _name = user.rpartition("\\")
    return "domain" if "@" in user or (sep and domain not in (".", "")) else "local"


def _guard(entry: dict, management: dict) -> str:
    """Why applying this entry would cut Ansible off this host, or ''. (docs/baseline-compatibility.md)"""
    guard = entry.get("management_guard")
    if not guard:
        return ""
    account = management_account(management)
    user = str(management.get("user") or "").rpartition("\\")[2].lower()
    transport = str(management.get("transport") or "").lower()
    scheme = str(management.get("scheme") or "").lower()
    reasons = {
        "local_account": account == "local" and
        "Ansible manages this host with a local account (ansible_user), whose remote token UAC would filter",
        "builtin_administrator": account == "local" and user in ("administrator", "") and
        "Ansible may manage this host with the built-in Administrator, whose remote token Admin Approval Mode "
        "would filter",
        "winrm_basic": "basic" in transport and "this host is managed over WinRM with basic authentication "
                                                "(ansible_winrm_transport)",
        "winrm_unencrypted": (("basic" in transport and scheme != "https")
                              or str(management.get("message_encryption") or "").lower() == "never") and
        "this host is managed over unencrypted WinRM (basic over HTTP or message encryption off)",
    }
    reason = reasons.get(guard)
    if reason is None:
        raise ArgumentError(variable_of(entry, ""), f"unknown management_guard {guard!r}; allowed: "
                                                    f"{', '.join(reasons)}")
    return f"kept: would cut off management: {reason} (baseline_management_account)" if reason else ""


def _resolve(raw: dict, ctx: dict) -> Entry:
    """One catalog entry for this host: its value, its predicate, and why it does not apply (if so)."""
    cid, prefix, profile = raw["id"], ctx["prefix"], ctx["profile"]
    variable = variable_of(raw, prefix)
    enabled = as_bool(raw.get("enabled", True), variable)
    skip = ctx["skips"].get(cid, "")
    excepted = ctx["conflicts"].get(cid, "")
    expect, value = None, raw.get("value")
    if "values" in raw:
        if profile not in (raw["values"] or {}):
            excepted = excepted or f"not part of the Microsoft baseline's {profile} profile (baseline_profile)"
        value = (raw["values"] or {}).get(profile)
        expect = (raw.get("expect") or {}).get(profile)
    elif isinstance(raw.get("expect"), dict) and set(raw["expect"]) <= set(predicates.SHAPES):
        expect = raw["expect"]  # a vendor entry's own rule (e.g. a driver key that may be absent)
    if raw.get("delegate"):
        excepted = excepted or str(raw.get("delegate_reason") or f"owned by the {raw['delegate']} role")
    excepted = excepted or _guard(raw, ctx["management"])
    report_only = bool(raw.get("report_only"))
    if cid in ctx["overrides"]:
        # A site value makes a "choose a value" entry settable; evidence stays check-only whatever its value.
        value, expect = ctx["overrides"][cid], None
        report_only = raw["mechanism"] in CHECK_ONLY
        variable = f"{prefix}values[{cid}]"
    live = enabled and not skip and not excepted and not (report_only and "values" in raw)
    if live:
        value = typed(raw, value, variable)
    if expect is not None:
        problem = predicates.check(expect, f"{variable_of(raw, prefix)} expect.{profile}")
        if problem:
            raise ArgumentError(variable_of(raw, prefix), problem)
    return Entry(cid, str(raw.get("title") or cid), tuple(raw.get("source") or ()), raw["mechanism"], value,
                 dict(raw), enabled, report_only, skip, expect, excepted)


def _check_catalog(catalog, prefix: str) -> dict:
    if not isinstance(catalog, list) or not all(isinstance(raw, dict) for raw in catalog):
        raise ArgumentError(f"{prefix}catalog", "must be a list of control dictionaries")
    by_id = {}
    for raw in catalog:
        if (raw.get("mechanism") not in MECHANISMS or not isinstance(raw.get("id"), str) or not raw["id"]
                or raw["id"] in by_id):
            raise ArgumentError(variable_of(raw, prefix), f"entry {raw.get('id')!r}: needs a unique id and a "
                                                          f"mechanism from {', '.join(MECHANISMS)}")
        if raw["mechanism"] in ("registry", "secopt") and raw.get("type", "str") not in REGISTRY_TYPES:
            raise ArgumentError(variable_of(raw, prefix), f"type {raw.get('type')!r} is not allowed; allowed: "
                                                          f"{', '.join(REGISTRY_TYPES)}")
        by_id[raw["id"]] = raw
    return by_id


def validate(args: dict, prefix: str = "") -> Desired:
    by_id = _check_catalog(args.get("catalog") or [], prefix)
    profile = args.get("profile") or "workgroup"
    if profile not in PROFILES:
        raise ArgumentError(f"{prefix}profile", f"{str(profile)[:60]!r} is not allowed; allowed: {', '.join(PROFILES)}")
    products = as_names(args.get("products"), "meddev_products" if prefix else "products")
    management = args.get("management") or {}
    if not isinstance(management, dict) or str(management.get("account") or "auto") not in ("auto", "local", "domain"):
        raise ArgumentError(f"{prefix}management_account", "is not allowed; allowed: auto, local, domain")
    ctx = {"prefix": prefix, "profile": profile, "management": management,
           "skips": _skips(args.get("skip"), set(by_id), prefix),
           "conflicts": _conflicts(args.get("product_conflicts"), products, set(by_id), prefix),
           "overrides": _overrides(args.get("values"), by_id, prefix)}
    entries = [_resolve(raw, ctx) for raw in by_id.values()]
    _check_lockout_pair(entries, prefix)
    _check_services(entries, args, prefix)
    return Desired(tuple(entries), tuple(products), prefix, profile)


def live(entry: Entry) -> bool:
    return entry.enabled and not entry.skip and not entry.excepted


def _check_lockout_pair(entries: list, prefix: str) -> None:
    """secedit refuses ResetLockoutCount > LockoutDuration (error 87): refuse it here, naming the variable."""
    by_key = {e.spec.get("key"): e for e in entries if e.mechanism == "secpol" and live(e)}
    reset, duration = by_key.get("ResetLockoutCount"), by_key.get("LockoutDuration")
    if reset and duration and reset.value > duration.value:
        raise ArgumentError(variable_of(reset.spec, prefix), f"{reset.value} minutes exceeds "
                            f"{variable_of(duration.spec, prefix)} ({duration.value}); allowed: 1-{duration.value} "
                            "(secedit refuses it with error 87)")


def _check_services(entries: list, args: dict, prefix: str) -> None:
    protected = PROTECTED_SERVICES | {s.lower() for s in as_names(args.get("protected_services"),
                                                                  f"{prefix}protected_services")}
    for entry in entries:
        if entry.mechanism == "service" and live(entry):
            refused = [s for s in entry.value if s.lower() in protected]
            if refused:
                raise ArgumentError(variable_of(entry.spec, prefix), f"{refused} must never be disabled: management "
                                    "(WinRM) or the medical-device products need them")
