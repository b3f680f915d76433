"""Fuzzing the pure validate and plan steps of every role (module_utils), and their idempotence.

Properties:

- validation is total: any value of any option - None, booleans, huge and negative integers,
  floats, strings with control characters, shell and path tricks, lists where scalars belong,
  dictionaries with unknown keys - either gives a desired state or raises ``ArgumentError``
  naming the offending variable (with the role's prefix); never TypeError, KeyError, ...;
- what validation accepts is clean: names, paths and URLs carry no control characters (a
  trailing newline once slipped through ``$`` in the patterns);
- boolean options read strings as Ansible does ("false", "no", "0" are false);
- unknown keys in dictionary-valued options are refused, naming the key;
- planning is total: a valid desired state against fuzzed gathered host state (the shapes of
  docs/host-contract.md with odd values; record files on the host with any content) gives a plan
  or ``ArgumentError``, nothing else;
- idempotence: plan -> apply every change with the winsim host module on a seeded simulated host
  -> gather -> plan again gives no change (firewall, baseline, Defender exclusions, LRM patch,
  iQ-WEBX), and rollbacks restore what was there;
- xmlpatch: merging any desired element into any well-formed document gives well-formed XML and
  a second merge changes nothing.
"""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import re
import shutil
import tempfile
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st
from rendered_catalog import render_catalog

from ansible_collections.meddev.hardening.plugins.action.baseline import ActionModule as BaselineAction
from ansible_collections.meddev.hardening.plugins.module_utils import (
    baseline,
    defender,
    firewall,
    iqwebx,
    lrm_patch,
    winsim,
    xmlpatch,
)
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.modules import defender_exclusion as defender_sim
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.modules import iqwebx_licgen as iqwebx_sim
from ansible_collections.meddev.hardening.plugins.modules import lrm_patch as lrm_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# -- junk ---------------------------------------------------------------------------------------------------

HOSTILE = ["", " ", "\n", "a\n", "x\x00y", "'; rm -rf / #", "$(Invoke-Expression whoami)", "`whoami`",
           "..\\..\\Windows", "C:\\x\n", "C:\\a\\b", "<x a=\"1\">&amp;", "%SystemRoot%\\x", "\u202e", "A" * 300,
           "true", "no", "1e9", "-1", "0x1F", "5985", "10.0.0.0/8", "Any", "any", "present", "domain",
           "{{ lookup('env','HOME') }}", "\\\\server\\share", "\t", "NaN", "None", "[]", "{}", "٣", "²"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([0, 1, -1, 65536, 10**30]),
    st.floats(allow_nan=True), st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(["name", "kind", "value", "path", "sha256", "x"]), st.text(max_size=5)),
                    inner, max_size=3)), max_leaves=6)


def lists_of(*values):
    """Near-valid values: a list of the given ones and junk, or one of them bare."""
    return st.one_of(st.lists(st.one_of(st.sampled_from(values), scalars), max_size=4), st.sampled_from(values))


def check_refusal(error: ArgumentError, *names: str) -> None:
    """The error names one of the expected variables (or something inside it)."""
    ok = any(error.variable == n or error.variable.startswith((f"{n}[", f"{n}.")) for n in names)
    assert ok, f"{error.variable!r} is not one of {names}: {error}"
    assert str(error).startswith(f"{error.variable}: ") and len(str(error)) > len(error.variable) + 10


def clean(*texts) -> None:
    for text in texts:
        assert isinstance(text, str) and not CONTROL.search(text), f"accepted a control character: {text!r}"


# -- validation: every option of every module ------------------------------------------------------------------

FW_BASE = {"state": "present", "profiles_enabled": ["domain", "private", "public"], "default_inbound_block": ["public"],
           "lrm_block_web": True, "management_networks": ["10.10.0.0/24"], "management_ports": [5985, 5986],
           "rules": [{"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"]}],
           "exclusive": False, "rule_group": "meddev.hardening"}
FW_NEAR = {"state": lists_of("present", "absent"), "profiles_enabled": lists_of("domain", "public", "any", "Domain "),
           "default_inbound_block": lists_of("domain", "private", "all"),
           "management_networks": lists_of("10.0.0.0/8", "fd00::/64", "LocalSubnet", "10.0.0.9-10.0.0.1", "1.2.3"),
           "management_ports": lists_of(5985, "5986", "0", 70000, "5000-6000", "http"),
           "rule_group": st.sampled_from(["meddev.hardening", "a b", "x" * 70, "grp\n", "-x"])}


def check_firewall(desired: firewall.Desired) -> None:
    assert desired.state in ("present", "absent") and isinstance(desired.exclusive, bool)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", desired.group)
    for declared in desired.rules:
        rule = declared.rule
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", rule.name) and isinstance(rule.enabled, bool)
        clean(*rule.local_ports, *rule.remote_ports, *rule.remote_addresses, *declared.source)
        assert not firewall.blocks_management(rule), "a block rule covering WinRM was accepted"


@FAST
@given(key=st.sampled_from(sorted(FW_BASE)), data=st.data())
def test_firewall_validation_is_total_and_names_the_variable(key, data):
    value = data.draw(st.one_of(junk, FW_NEAR.get(key, junk)), label=key)
    try:
        desired = firewall.validate({**FW_BASE, key: value}, prefix="firewall_")
    except ArgumentError as error:
        check_refusal(error, f"firewall_{key}", *(["firewall_management_networks"] if key in (
            "default_inbound_block", "management_networks") else []))
        return
    check_firewall(desired)


RULE_NEAR = {"name": st.sampled_from(["ok", "a" * 65, "-x", "r\n", "r 1", "r;x"]),
             "action": lists_of("allow", "block", "deny"), "direction": lists_of("inbound", "out"),
             "protocol": lists_of("tcp", "udp", "any", "icmp"),
             "local_ports": lists_of("104", "5985", "1-65535", "0", "80-70", "any", ""),
             "remote_ports": lists_of("1024-65535", "x"),
             "remote_addresses": lists_of("Any", "LocalSubnet", "10.0.0.0/33", "fe80::1%eth0", "Intranet"),
             "profiles": lists_of("public", "any", "all"), "enabled": lists_of("false", "no", "maybe"),
             "source": lists_of("SRC-CS-9")}


@FAST
@given(key=st.sampled_from(sorted(firewall.RULE_KEYS)), action=st.sampled_from(["allow", "block"]), data=st.data())
def test_firewall_rule_keys_are_total_and_named(key, action, data):
    value = data.draw(st.one_of(junk, RULE_NEAR.get(key, junk)), label=key)
    rule = {"name": "r1", "action": action, "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"], key: value}
    try:
        desired = firewall.validate({"rules": [rule], "management_networks": ["10.10.0.0/24"]}, prefix="firewall_")
    except ArgumentError as error:
        check_refusal(error, "firewall_rules[0]", "firewall_rules")
        return
    check_firewall(desired)


DEFENDER_BASE = {"state": "present", "exclusive": False, "products": ["iqwebx"],
                 "owner_record": "C:\\ProgramData\\meddev.hardening\\defender_exclusions.json",
                 "exclusions": [{"kind": "path", "value": "C:\\Illumina", "source": ["SRC-LRM-6"]}]}
DEFENDER_NEAR = {"owner_record": st.sampled_from(["C:\\x.json", "C:\\x.json\n", "x.json", "C:\\a|b", "\\\\srv\\x"]),
                 "exclusions": st.lists(st.fixed_dictionaries(
                     {"kind": st.sampled_from(["path", "process", "extension", "file"]),
                      "value": st.one_of(st.sampled_from(["C:\\x", ".dcm", "dcm", "%ProgramData%\\x", "x.exe",
                                                          "C:\\a\nb", "C:\\" + "a" * 300, "rel\\path", "*.exe"]),
                                         scalars),
                      "source": lists_of("SRC-CS-5")},
                     optional={"product": scalars}), max_size=3)}


@FAST
@given(key=st.sampled_from(sorted(DEFENDER_BASE)), data=st.data())
def test_defender_validation_is_total_and_names_the_variable(key, data):
    value = data.draw(st.one_of(junk, DEFENDER_NEAR.get(key, junk)), label=key)
    try:
        desired = defender.validate({**DEFENDER_BASE, key: value}, prefix="av_exclusions_")
    except ArgumentError as error:
        check_refusal(error, "meddev_products" if key == "products" else f"av_exclusions_{key}")
        return
    clean(desired.owner_record, *desired.products)
    assert isinstance(desired.exclusive, bool)
    for item in desired.exclusions:
        clean(item.value, *item.source)


LRM_BASE = {"state": "present", "site_name": "", "upload_folders": [], "upload_patterns": ["*upload*"],
            "blocked_extensions": [".asp", ".exe"], "install_ip_security": False, "force": False,
            "audit_path": "C:\\ProgramData\\meddev.hardening\\lrm_patch\\audit.json",
            "backup_dir": "C:\\ProgramData\\meddev.hardening\\backups"}
LRM_NEAR = {"site_name": st.sampled_from(["Local Run Manager", "a/b", "x\n", "<&\"'>", "a" * 129]),
            "upload_folders": lists_of("uploads", "a/b/c/d/e", "../x", "x\n", "a\\b", "."),
            "blocked_extensions": lists_of(".asp", "asp", ".ASPX", ".a\n", ".toolongextension12"),
            "audit_path": st.sampled_from(["C:\\a.json", "C:\\a.json\n", "a.json", "C:\\a?b"]),
            "backup_dir": st.sampled_from(["C:\\b", "C:\\b\n", "D:\\", "\\\\srv\\b"])}


@FAST
@given(key=st.sampled_from(sorted(LRM_BASE)), data=st.data())
def test_lrm_patch_validation_is_total_and_names_the_variable(key, data):
    value = data.draw(st.one_of(junk, LRM_NEAR.get(key, junk)), label=key)
    try:
        desired = lrm_patch.validate({**LRM_BASE, key: value}, prefix="lrm_patch_")
    except ArgumentError as error:
        check_refusal(error, f"lrm_patch_{key}")
        return
    clean(desired.site_name, *desired.upload_folders, *desired.blocked_extensions, *desired.upload_patterns,
          desired.audit_path, desired.backup_dir)
    assert isinstance(desired.force, bool) and isinstance(desired.install_ip_security, bool)


SHA = "492c7a0446b554f6edc4987564e3f41041eaeacf394498331f566d96833c70c4"
IQW_BASE = {"install_dir": "C:\\Program Files\\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
            "artifacts": {"2.2.0.6": {"path": "/srv/LicGen.exe", "sha256": SHA}}, "signature_max_age_days": 1,
            "evidence_path": "C:\\ProgramData\\meddev.hardening\\iqwebx_licgen\\evidence.json"}
IQW_NEAR = {"login_url": st.sampled_from(["https://[::1]:8443/x", "http://x\n", "ftp://x", "http://a b/", "http://x/\""]),
            "artifacts": st.dictionaries(st.sampled_from(["2.2.0.6", "2.2", "x", "2.2.0.6\n", "1.2.3.4.5"]),
                                         st.one_of(junk, st.fixed_dictionaries(
                                             {"path": st.sampled_from(["/srv/x", "", 5]),
                                              "sha256": st.sampled_from([SHA, SHA.upper(), SHA + "\n", "abc"])},
                                             optional={"sha265": st.just(SHA), "size": st.integers()})), max_size=2),
            "signature_max_age_days": st.sampled_from([0, 365, 366, -1, "7", "x", 1.5, True, None, 10**20])}


@FAST
@given(key=st.sampled_from(sorted(IQW_BASE)), data=st.data())
def test_iqwebx_validation_is_total_and_names_the_variable(key, data):
    value = data.draw(st.one_of(junk, IQW_NEAR.get(key, junk)), label=key)
    try:
        desired = iqwebx.validate({**IQW_BASE, key: value}, prefix="iqwebx_licgen_")
    except ArgumentError as error:
        check_refusal(error, f"iqwebx_licgen_{key}")
        return
    clean(desired.install_dir, desired.login_url, desired.evidence_path)
    assert " " not in desired.login_url and 0 <= desired.signature_max_age_days <= 365
    for version, item in desired.artifacts.items():
        clean(version, item["path"])
        assert re.fullmatch(r"[0-9a-f]{64}", item["sha256"]) and set(item) == {"path", "sha256"}


# -- the baseline: fuzz the role variables inside the real catalog --------------------------------------------------

RAW_CATALOG = yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text())["baseline_catalog"]
RENDERED = render_catalog()
# Variables the catalog takes as they are ("{{ variable }}"): Ansible passes such a value through untouched.
PLAIN_VALUE = re.compile(r"\{\{ (\w+) \}\}")
PLAIN = sorted({PLAIN_VALUE.fullmatch(str(e.get(k, ""))).group(1) for e in RAW_CATALOG for k in ("value", "enabled")
                if PLAIN_VALUE.fullmatch(str(e.get(k, "")))})
BASELINE_NEAR = st.one_of(
    st.integers(-5, 100_001),
    st.sampled_from(["15", "1e3", " 5", "0x10", "true", "yes", "no", "success", "Success", "success_and_failure"]),
    lists_of("RemoteRegistry", "WinRM", "", "HTTP", 5))


def baseline_with(variable: str, value) -> list:
    catalog = copy.deepcopy(RENDERED)
    for raw, entry in zip(RAW_CATALOG, catalog, strict=True):
        for key in ("value", "enabled"):
            if str(raw.get(key, "")) == f"{{{{ {variable} }}}}":
                entry[key] = value
    return catalog


def check_baseline(desired: baseline.Desired) -> None:
    for entry in desired.entries:
        assert isinstance(entry.enabled, bool)
        if not entry.enabled:
            continue
        if entry.spec.get("type") == "int" and entry.mechanism in ("secpol", "registry"):
            low, high = entry.spec.get("range") or (None, None)
            scale = int(entry.spec.get("scale", 1))
            assert isinstance(entry.value, int) and (low is None or low * scale <= entry.value <= high * scale)
        elif entry.spec.get("type") == "bool":
            assert isinstance(entry.value, bool)
        elif entry.mechanism in ("service", "hotfix", "bitlocker"):
            clean(*entry.value)
        else:
            clean(str(entry.value))


@FAST
@given(variable=st.sampled_from([*PLAIN, "baseline_protected_services", "meddev_products"]), data=st.data())
def test_baseline_validation_is_total_and_names_the_variable(variable, data):
    value = data.draw(st.one_of(junk, BASELINE_NEAR), label=variable)
    args = {"catalog": copy.deepcopy(RENDERED), "products": [], "protected_services": []}
    if variable == "baseline_protected_services":
        args["protected_services"] = value
    elif variable == "meddev_products":
        args["products"] = value
    else:
        args["catalog"] = baseline_with(variable, value)
    related = {"baseline_lockout_duration": ["baseline_lockout_reset"], "baseline_lockout_reset": [],
               "baseline_protected_services": ["baseline_disabled_services"]}
    try:
        desired = baseline.validate(args, prefix="baseline_")
    except ArgumentError as error:
        check_refusal(error, variable, *related.get(variable, []))
        return
    check_baseline(desired)


@FAST
@given(catalog=st.one_of(junk, st.lists(st.one_of(junk, st.fixed_dictionaries(
    {"id": scalars, "mechanism": st.sampled_from([*baseline.MECHANISMS, "wmi"]), "value": junk},
    optional={"title": scalars, "type": st.sampled_from(["int", "bool", "str", "x"]), "enabled": junk,
              "range": junk, "scale": st.sampled_from([1, 60])})), max_size=3)))
def test_baseline_catalog_shape_is_checked(catalog):
    try:
        baseline.validate({"catalog": catalog}, prefix="baseline_")
    except ArgumentError as error:
        assert error.variable.startswith("baseline_") or error.variable in ("meddev_products",)


# -- booleans and unknown keys ------------------------------------------------------------------------------------

FALSE = ["false", "False", "no", "off", "0", 0, False]
TRUE = ["true", "yes", "on", "1", 1, True]


@pytest.mark.parametrize("value", FALSE + TRUE)
def test_boolean_options_read_strings_as_ansible_does(value):
    want = value in TRUE
    fw = firewall.validate({**FW_BASE, "exclusive": value, "lrm_block_web": value,
                            "rules": [{**FW_BASE["rules"][0], "enabled": value}]}, "firewall_")
    assert fw.exclusive is want and fw.rules[0].rule.enabled is want
    assert ("lrm-block-http" in {d.rule.name for d in fw.rules}) is want
    assert defender.validate({**DEFENDER_BASE, "exclusive": value}, "av_exclusions_").exclusive is want
    lrm = lrm_patch.validate({**LRM_BASE, "force": value, "install_ip_security": value}, "lrm_patch_")
    assert lrm.force is want and lrm.install_ip_security is want
    entries = baseline.validate({"catalog": baseline_with("baseline_removable_write_deny", value)}, "baseline_").entries
    assert next(e for e in entries if e.id == "BL-REMOVABLE-WRITE").enabled is want


TYPOS = ["local_port", "remote_address", "Action", "protcol", "enable", "port", "sources", "ports", "profile"]


@FAST
@given(typo=st.one_of(st.sampled_from(TYPOS), st.text(min_size=1, max_size=10)), value=scalars)
def test_unknown_keys_in_dict_variables_are_refused_naming_the_key(typo, value):
    assume(typo not in firewall.RULE_KEYS)
    rule = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"], typo: value}
    with pytest.raises(ArgumentError) as error:
        firewall.validate({"rules": [rule]}, prefix="firewall_")
    assert error.value.variable == "firewall_rules[0]" and repr(typo) in str(error.value)

    assume(typo not in ("kind", "value", "source", "product", "variable"))  # variable: the role names the origin
    item = {"kind": "path", "value": "C:\\Illumina", "source": ["SRC-LRM-6"], typo: value}
    with pytest.raises(ArgumentError) as error:
        defender.validate({**DEFENDER_BASE, "exclusions": [item]}, prefix="av_exclusions_")
    assert error.value.variable == "av_exclusions_exclusions[0]" and repr(typo) in str(error.value)

    assume(typo not in ("path", "sha256"))
    artifacts = {"2.2.0.6": {"path": "/srv/LicGen.exe", "sha256": SHA, typo: value}}
    with pytest.raises(ArgumentError) as error:
        iqwebx.validate({**IQW_BASE, "artifacts": artifacts}, prefix="iqwebx_licgen_")
    assert error.value.variable == "iqwebx_licgen_artifacts['2.2.0.6']" and repr(typo) in str(error.value)


# -- planning against fuzzed host state ---------------------------------------------------------------------------

odd_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))


@st.composite
def firewall_desired(draw):
    rules = []
    for i in range(draw(st.integers(0, 3))):
        rule = {"name": f"r{i}", "action": draw(st.sampled_from(["allow", "block"])),
                "local_ports": draw(st.sampled_from([["104"], ["80", "443"], ["8000-8010"], ["3389"]])),
                "remote_addresses": draw(st.lists(st.sampled_from(["10.20.30.0/24", "Any", "LocalSubnet", "fd00::/64",
                                                                   "10.0.0.1-10.0.0.9", "192.0.2.7"]),
                                                  min_size=1, max_size=2)),
                "profiles": draw(st.lists(st.sampled_from(["domain", "private", "public", "any"]), min_size=1,
                                          max_size=2)),
                "enabled": draw(st.booleans()), "protocol": draw(st.sampled_from(["tcp", "udp"]))}
        rules.append(rule)
    networks = draw(st.lists(st.sampled_from(["10.10.0.0/24", "LocalSubnet", "10.10.0.7", "fd00:10::/64"]),
                             max_size=2))
    block = draw(st.lists(st.sampled_from(["domain", "private", "public"]), max_size=3)) if networks else []
    return firewall.validate({
        "state": draw(st.sampled_from(["present", "present", "absent"])), "rules": rules,
        "profiles_enabled": draw(st.lists(st.sampled_from(["domain", "private", "public"]), max_size=3)),
        "default_inbound_block": block, "lrm_block_web": draw(st.booleans()), "management_networks": networks,
        "management_ports": draw(st.sampled_from([[5985, 5986], [5986], [5985, 5986, 8443]])),
        "exclusive": draw(st.booleans())}, prefix="firewall_")


host_rule = st.fixed_dictionaries({
    "name": st.one_of(st.sampled_from(["r0", "r1", "mgmt-winrm", "lrm-block-http", "R0"]), odd_text),
    "display_name": odd_text, "description": odd_text,
    "group": st.sampled_from(["meddev.hardening", "Windows Remote Management", "", "MEDDEV.HARDENING"]),
    "direction": st.sampled_from(["Inbound", "Outbound", "inbound", ""]),
    "action": st.sampled_from(["Allow", "Block", "allow", "Bypass", ""]),
    "enabled": st.one_of(st.booleans(), st.sampled_from(["True", "False", 1, 0, None])),
    "protocol": st.sampled_from(["TCP", "UDP", "Any", "ICMPv4", "6", "", "tcp"]),
    "local_ports": st.lists(st.sampled_from(["Any", "80", "5985", "5986", "8000-8010", "RPC", "RPCEPMap", "IPHTTPSIn",
                                             "", "70000", "5985-5986"]), max_size=3),
    "remote_ports": st.lists(st.sampled_from(["Any", "1024-65535", "80"]), max_size=2),
    "remote_addresses": st.lists(st.sampled_from(["Any", "LocalSubnet", "Intranet", "DNS", "10.0.0.0/255.0.0.0",
                                                  "fe80::/64", "10.0.0.1-10.0.0.9", "garbage", "10.10.0.0/24"]),
                                 max_size=3),
    "profiles": st.lists(st.sampled_from(["Domain", "Private", "Public", "Any", ""]), max_size=3),
})
host_profile = st.fixed_dictionaries({}, optional={
    "enabled": st.one_of(st.booleans(), st.sampled_from(["True", "False", None, 0, 1])),
    "default_inbound_action": st.sampled_from(["Block", "Allow", "NotConfigured", None, "", "block", "NotSet"])})
firewall_gathered = st.fixed_dictionaries({}, optional={
    "profiles": st.dictionaries(st.sampled_from(["domain", "private", "public", "other"]), host_profile, max_size=4),
    "rules": st.lists(host_rule, max_size=4), "winrm_rules": st.lists(host_rule, max_size=3)})


@FAST
@given(desired=firewall_desired(), gathered=firewall_gathered)
def test_firewall_plan_is_total(desired, gathered):
    try:
        plan = firewall.plan(desired, gathered)
    except ArgumentError as error:
        check_refusal(error, "host", "firewall_management_networks")
        return
    # Safety order (docs/host-contract.md): rules first, then profile settings, removals last.
    rank = {"create_rule": 0, "update_rule": 0, "set_profile": 1, "remove_rule": 2}
    ranks = [rank[c.kind] for c in plan.changes]
    assert ranks == sorted(ranks)


BASELINE_DESIRED = baseline.validate({"catalog": render_catalog(baseline_ntp_servers=["ntp1"], baseline_rdp="disabled",
                                                                baseline_removable_write_deny=True)}, "baseline_")
# Record files on the host (ownership, audit, evidence): JSON this collection wrote, or anything a person left there.
record_text = st.one_of(st.none(), odd_text, junk.map(json.dumps), st.fixed_dictionaries({}, optional={
    "state": st.one_of(st.sampled_from(["applied", "rolled_back"]), scalars),
    "files": st.one_of(junk, st.dictionaries(st.sampled_from([lrm_patch.APPHOST, "x"]), junk, max_size=2)),
    "history": junk, "time": scalars, "steps": junk, "site": junk,
    "exclusions": st.one_of(junk, st.lists(st.fixed_dictionaries(
        {"kind": st.one_of(st.sampled_from(defender.KINDS), scalars), "value": st.one_of(odd_text, scalars)}),
        max_size=2))}).map(json.dumps))


@FAST
@given(gathered=st.fixed_dictionaries({}, optional={
    "registry": st.dictionaries(st.sampled_from([e["path"] for e in RAW_CATALOG if "path" in e] + ["x"]),
                                st.dictionaries(st.sampled_from(["SMB1", "Start", "NoAutorun", "x"]), scalars,
                                                max_size=3), max_size=3),
    "secpol_inf": st.one_of(odd_text, st.lists(st.sampled_from(["[System Access]", "LockoutDuration = x", "=", "[",
                                                                "MinimumPasswordLength = 99", "\ufeff[Unicode]"]),
                                               max_size=6).map("\r\n".join)),
    "auditpol_csv": st.one_of(odd_text, st.lists(st.sampled_from(
        ["Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting", ",,,{0CCE9215-69AE-11D9-BED3-"
         "505054503030},Success,extra,extra", "a,b", '"unterminated'], ), max_size=4).map("\n".join)),
    "services": st.dictionaries(st.sampled_from(["RemoteRegistry", "SSDPSRV", "remoteregistry"]),
                                st.fixed_dictionaries({}, optional={"Status": scalars, "StartType": scalars}),
                                max_size=3),
    "hotfixes": st.lists(odd_text, max_size=3), "os_build": st.one_of(st.none(), st.integers(-1, 2**40)),
    "bitlocker": st.fixed_dictionaries({}, optional={"protection_status": scalars, "encryption_method": scalars})}))
def test_baseline_plan_is_total(gathered):
    baseline.plan(BASELINE_DESIRED, gathered)


@FAST
@given(gathered=st.fixed_dictionaries({}, optional={
    "defender": st.fixed_dictionaries({}, optional={"available": st.booleans(), "running_mode": scalars,
                                                    "disable_local_admin_merge": st.booleans()}),
    "exclusions": st.dictionaries(st.sampled_from(defender.KINDS), st.lists(odd_text, max_size=3), max_size=3),
    "policy": st.dictionaries(st.sampled_from(defender.KINDS), st.lists(odd_text, max_size=3), max_size=3),
    "third_party": st.lists(st.fixed_dictionaries({"name": odd_text, "source": odd_text}), max_size=2),
    "owned_text": record_text, "environment": st.dictionaries(odd_text, odd_text, max_size=3)}),
    state=st.sampled_from(["present", "absent"]), exclusive=st.booleans())
@example(gathered={"owned_text": '{"exclusions": 5}'}, state="absent", exclusive=True)  # a hand-edited record
@example(gathered={"owned_text": '{"exclusions": [{"kind": "path", "value": 5}]}'}, state="present", exclusive=True)
def test_defender_plan_is_total(gathered, state, exclusive):
    desired = defender.validate({**DEFENDER_BASE, "state": state, "exclusive": exclusive}, "av_exclusions_")
    defender.plan(desired, gathered)


@FAST
@given(gathered=st.fixed_dictionaries({"iqwebx": st.fixed_dictionaries(
    {"installed": st.booleans()}, optional={"version": st.one_of(st.none(), odd_text), "install_dir": st.one_of(
        st.none(), st.sampled_from(["C:\\iQ", "C:\\iQ\\", "D:\\x"]))})}, optional={
    "exclusions": st.lists(odd_text, max_size=3), "environment": st.dictionaries(odd_text, odd_text, max_size=2),
    "licgen_present": st.booleans(),
    "quarantine": st.lists(st.fixed_dictionaries({"threat": odd_text, "path": odd_text}), max_size=2),
    "login": st.fixed_dictionaries({}, optional={"status": st.one_of(st.none(), st.integers(0, 999)),
                                                 "length": st.one_of(st.none(), st.integers(0, 2**40))}),
    "antivirus": st.fixed_dictionaries({}, optional={
        "signature_age_days": st.one_of(st.none(), st.integers(-1, 10**6))}),
    "pending_reboot": st.booleans(), "detections": st.lists(st.fixed_dictionaries({"time": odd_text,
                                                                                  "threat": odd_text}), max_size=2),
    "evidence_text": record_text}),
    artifact=st.one_of(st.none(), st.fixed_dictionaries({"sha256": st.sampled_from([SHA, "x"]),
                                                         "content": st.just("eA==")}),
                       st.just({"error": "unreadable"})))
@example(gathered={"iqwebx": {"installed": True}, "evidence_text": '{"history": "0"}'}, artifact=None)
def test_iqwebx_plan_is_total(gathered, artifact):
    desired = iqwebx.validate(IQW_BASE, "iqwebx_licgen_", now="2026-01-01T00:00:00Z")
    plan = iqwebx.plan(desired, gathered, artifact)
    for change in plan.changes:
        if change.kind == "write_evidence":
            json.loads(change.params["content"])  # the host refuses anything else


def apphost(sites) -> bytes:
    body = ""
    for i, (name, path, bindings) in enumerate(sites):
        binding = "".join(f'<binding protocol="http" bindingInformation="{xmlattr(b)}" />' for b in bindings)
        body += (f'      <site name="{xmlattr(name)}" id="{i + 1}">\n'
                 f'        <application path="/"><virtualDirectory path="/" physicalPath="{xmlattr(path)}" />'
                 f"</application>\n        <bindings>{binding}</bindings>\n      </site>\n")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n  <system.applicationHost>\n    <sites>\n'
            f"{body}    </sites>\n  </system.applicationHost>\n</configuration>\n").encode()


def xmlattr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace("\n", "&#10;")


xml_safe = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
lrm_sites = st.lists(st.tuples(
    st.one_of(st.just("Local Run Manager"), xml_safe),
    st.sampled_from(["C:\\Illumina\\Local Run Manager\\Web", "%SystemDrive%\\inetpub\\wwwroot", "", "D:\\x"]),
    st.lists(st.sampled_from(["*:80:", "127.0.0.1:80:", "[::]:443:", "junk", "*:80:host", ""]), max_size=2)),
    max_size=3)


@FAST
@given(sites=lrm_sites, raw=st.one_of(st.none(), st.binary(max_size=40)),
       gathered=st.fixed_dictionaries({}, optional={
           "features": st.dictionaries(st.just("Web-IP-Security"), st.booleans()),
           "site_folders": st.dictionaries(st.sampled_from(["Local Run Manager", "x"]),
                                           st.lists(st.sampled_from(["Uploads", "a\\Upload", "bin", "..", "up load"]),
                                                    max_size=3)),
           "busy": st.lists(odd_text, max_size=2), "audit_text": record_text,
           "backups": st.dictionaries(odd_text, st.fixed_dictionaries({"sha256": odd_text}), max_size=2)}),
       options=st.fixed_dictionaries({"state": st.sampled_from(["present", "absent"]),
                                      "site_name": st.sampled_from(["", "Local Run Manager", "nope"]),
                                      "upload_folders": st.sampled_from([[], ["data/in"]])}))
@example(sites=[("Local Run Manager", "C:\\Illumina\\Local Run Manager\\Web", ["127.0.0.1:80:"])], raw=None,
         gathered={"audit_text": json.dumps({"state": "applied", "files": {lrm_patch.APPHOST: "x"}, "history": 1})},
         options={"state": "present", "site_name": "", "upload_folders": []})
def test_lrm_patch_plan_is_total(sites, raw, gathered, options):
    data = apphost(sites) if raw is None else raw
    lrm = {"installed": True, "version": "3.0", "install_dir": "C:\\Illumina\\Local Run Manager"}
    gathered = {**gathered, "lrm": lrm, "apphost": {"path": lrm_patch.APPHOST,
                                                    "content": base64.b64encode(data).decode()}}
    desired = lrm_patch.validate({**LRM_BASE, **options},
                                 "lrm_patch_", now="2026-01-01T00:00:00Z")
    plan = lrm_patch.plan(desired, gathered)
    for change in plan.changes:
        if change.kind == "write_file":
            xmlpatch.Document(base64.b64decode(change.params["content"]))  # well-formed
        if change.kind == "write_audit":
            json.loads(change.params["content"])


# -- xmlpatch -----------------------------------------------------------------------------------------------------

tags = st.sampled_from(["location", "system.webServer", "security", "ipSecurity", "add", "a", "b-c", "x.y"])
attr_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)
specs = st.recursive(
    st.builds(xmlpatch.Elem, tags, st.dictionaries(st.sampled_from(["path", "name"]), attr_values, max_size=1),
              st.dictionaries(st.sampled_from(["allowed", "value"]), attr_values, max_size=2)),
    lambda inner: st.builds(xmlpatch.Elem, tags, st.dictionaries(st.sampled_from(["path"]), attr_values, max_size=1),
                            st.dictionaries(st.sampled_from(["v"]), attr_values, max_size=1),
                            st.lists(inner, max_size=3, unique_by=lambda e: e.tag).map(tuple)), max_leaves=6)


def render(spec: xmlpatch.Elem, indent: str, newline: str) -> str:
    attrs = "".join(f' {k}="{xmlattr(str(v))}"' for k, v in {**spec.match, **spec.attrs}.items())
    if not spec.children:
        return f"{indent}<{spec.tag}{attrs}/>"
    inner = newline.join(render(c, indent + "  ", newline) for c in spec.children)
    return f"{indent}<{spec.tag}{attrs}>{newline}{inner}{newline}{indent}</{spec.tag}>"


@FAST
@given(existing=st.lists(specs, max_size=3), spec=specs, newline=st.sampled_from(["\n", "\r\n", ""]),
       bom=st.sampled_from([b"", b"\xef\xbb\xbf"]), comment=st.booleans())
def test_xmlpatch_merge_is_well_formed_and_idempotent(existing, spec, newline, bom, comment):
    body = newline.join(render(e, "  ", newline) for e in existing)
    text = f"<configuration>{newline}{'<!-- keep -->' if comment else ''}{body}{newline}</configuration>{newline}"
    data = bom + text.encode()
    doc = xmlpatch.Document(data)
    doc.merge(doc.root, spec)
    try:
        after = doc.result()
    except xmlpatch.XmlError as error:
        pytest.fail(f"merging produced unwritable XML: {error}")
    assert after.startswith(bom) and (not comment or b"<!-- keep -->" in after)
    again = xmlpatch.Document(after)
    again.merge(again.root, spec)
    assert not again.changed(), "a second merge of the same element changed the file again"
    if not doc.changed():
        assert after == data


@FAST
@given(data=st.one_of(st.binary(max_size=60), st.text(max_size=40).map(str.encode),
                      st.sampled_from([b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"<a><b></a>", b"\xff\xfe<\x00",
                                       b'<?xml version="1.0" encoding="utf-16"?><a/>', b"<a/><b/>", b"",
                                       b'<?xml version="1.0" encoding="nope"?><a/>'])))
def test_xmlpatch_reads_any_bytes_or_refuses_them(data):
    try:
        doc = xmlpatch.Document(data)
    except xmlpatch.XmlError:
        return
    doc.merge(doc.root, xmlpatch.Elem("location", {"path": "x"}))
    xmlpatch.Document(doc.result())


# -- idempotence on seeded simulated hosts -------------------------------------------------------------------------

_TEMPLATES: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _templates():
    yield
    for path in _TEMPLATES.values():
        shutil.rmtree(path.parent, ignore_errors=True)
    _TEMPLATES.clear()


class Host:
    """A fresh copy of a seeded simulated host for one example (the seed is made once per profile)."""

    def __init__(self, profile: str):
        if profile not in _TEMPLATES:
            root = pathlib.Path(tempfile.mkdtemp(prefix=f"fuzz-{profile}-"))
            winsim.seed(root / "host", profile, winsim_profiles.load(profile))
            _TEMPLATES[profile] = root / "host"
        self._tmp = tempfile.TemporaryDirectory(prefix="fuzz-")
        self._fsync = mock.patch.object(winsim.os, "fsync", lambda _fd: None)  # durability is not tested here
        shutil.copytree(_TEMPLATES[profile], pathlib.Path(self._tmp.name) / "host")
        self.sim = winsim.SimHost(pathlib.Path(self._tmp.name) / "host")

    def __enter__(self):
        self._fsync.start()
        return self

    def __exit__(self, *exc):
        self._fsync.stop()
        self._tmp.cleanup()

    def files(self) -> dict:
        root = self.sim.state_dir
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name not in (".lock", winsim.CALLS_LOG)}


def converge(host_module, plan_of, apply_change, gather):
    """plan -> apply each change -> gather -> plan: the second plan must have no changes."""
    plan = plan_of(gather())
    for change in plan.changes:
        apply_change(change.as_host_dict())
    again = plan_of(gather())
    note(f"{host_module}: first plan {[c.kind for c in plan.changes]}; second {[c.kind for c in again.changes]}")
    assert again.changes == (), f"{host_module} is not idempotent: {[(c.control, c.kind) for c in again.changes]}"
    return plan, again


@SLOW
@given(desired=firewall_desired(), profile=st.sampled_from(["lrm_instrument", "carestream_imagesuite", "philips_mr"]))
def test_firewall_converges_on_a_simulated_host(desired, profile):
    with Host(profile) as host:
        def apply(change):
            state = host.sim.read("firewall")
            fw_sim.apply_change(state, change, desired.group)
            host.sim.write("firewall", state)

        def gather():
            return fw_sim.gather(host.sim.read("firewall"), desired.group)
        try:
            firewall.plan(desired, gather())
        except ArgumentError as error:  # the lockout guard refuses before anything is applied
            assert error.variable == "firewall_management_networks"
            return
        converge("firewall_policy", lambda g: firewall.plan(desired, g), apply, gather)


@settings(SLOW, max_examples=25)
@given(values=st.fixed_dictionaries({
    "baseline_password_history": st.integers(0, 24), "baseline_password_min_length": st.integers(0, 14),
    "baseline_password_max_age": st.integers(1, 999), "baseline_password_complexity": st.booleans(),
    "baseline_lockout_threshold": st.integers(0, 999), "baseline_lockout_duration": st.integers(1, 99_999),
    "baseline_idle_lock_minutes": st.integers(1, 999), "baseline_removable_write_deny": st.booleans(),
    "baseline_rdp": st.sampled_from(["disabled", "nla", "unmanaged"]),
    "baseline_ntp_servers": st.lists(st.sampled_from(["ntp1.example", "10.0.0.1", "time.example"]), max_size=2),
    "baseline_wsus_server": st.sampled_from(["", "https://wsus.example:8531"]),
    "baseline_event_collector": st.sampled_from(["", "wec.example"]),
    "baseline_audit_logon": st.sampled_from(sorted(baseline.AUDIT_SETTINGS)),
    "baseline_audit_policy_change": st.sampled_from(sorted(baseline.AUDIT_SETTINGS)),
    "baseline_disabled_services": st.lists(st.sampled_from(["RemoteRegistry", "SSDPSRV", "Spooler"]), max_size=2)}),
    reset=st.integers(1, 99_999), profile=st.sampled_from(["lrm_instrument", "philips_mr"]))
def test_baseline_converges_on_a_simulated_host(values, reset, profile):
    values["baseline_lockout_reset"] = min(reset, values["baseline_lockout_duration"])
    desired = baseline.validate({"catalog": render_catalog(**values), "products": []}, "baseline_")
    with Host(profile) as host:
        host_args = BaselineAction.host_args(None, desired)
        converge("baseline", lambda g: baseline.plan(desired, g),
                 lambda change: baseline_sim.apply_change(host.sim, change),
                 lambda: baseline_sim.gather(host.sim, host_args))


exclusion_values = st.one_of(
    st.builds(lambda k, v, s: {"kind": k, "value": v, "source": [s]}, st.just("path"),
              st.sampled_from(["C:\\Illumina", "c:\\illumina\\", "%ProgramData%\\meddev", "C:\\ProgramData\\meddev\\",
                               "C:\\a;$(x)`b'", "\\\\srv\\share\\x", "D:\\CSImages"]), st.just("SRC-CS-5")),
    st.builds(lambda v: {"kind": "process", "value": v, "source": ["SRC-IQW-9"]},
              st.sampled_from(["LicGen.exe", "licgen.EXE", "C:\\x\\y.exe"])),
    st.builds(lambda v: {"kind": "extension", "value": v, "source": ["SRC-CS-5"]},
              st.sampled_from([".dcm", "dcm", "DCM", ".img"])))


@SLOW
@given(exclusions=st.lists(exclusion_values, max_size=4))
@example(exclusions=[{"kind": "path", "value": "C:\\Illumina", "source": ["SRC-LRM-6"]},
                     {"kind": "path", "value": "c:\\illumina\\", "source": ["SRC-CS-5"]}])
def test_defender_converges_and_rollback_removes_everything_it_added(exclusions):
    record = "C:\\ProgramData\\meddev.hardening\\defender_exclusions.json"
    with Host("iqwebx_quarantined") as host:
        def gather():
            return defender_sim.gather(host.sim, {"owner_record": record, "third_party_services": {}})

        def apply(change):
            defender_sim.apply_change(host.sim, change)
        original = copy.deepcopy(host.sim.read("defender")["exclusions"])
        for state in ("present", "absent"):
            desired = defender.validate({"state": state, "exclusions": exclusions, "owner_record": record},
                                        "av_exclusions_")
            converge(f"defender_exclusion ({state})", lambda g, d=desired: defender.plan(d, g), apply, gather)
        assert host.sim.read("defender")["exclusions"] == original, "rollback left exclusions this collection added"


@SLOW
@given(folders=st.lists(st.sampled_from(["Uploads", "data/in", "bin"]), max_size=2),
       patterns=st.lists(st.sampled_from(["*upload*", "*", "in*", "none"]), max_size=2),
       extensions=st.lists(st.sampled_from([".asp", ".ASPX", ".exe", ".js", ".ps1"]), max_size=3),
       ip_security=st.booleans())
def test_lrm_patch_converges_and_rollback_restores_the_bytes(folders, patterns, extensions, ip_security):
    with Host("lrm_instrument") as host:
        args = {**LRM_BASE, "upload_folders": folders, "upload_patterns": patterns, "blocked_extensions": extensions,
                "install_ip_security": ip_security}
        params = {**args, "busy_processes": [], "busy_services": []}
        before = host.files()
        for state in ("present", "absent"):
            desired = lrm_patch.validate({**args, "state": state}, "lrm_patch_", now="2026-01-01T00:00:00Z")
            converge(f"lrm_patch ({state})", lambda g, d=desired: lrm_patch.plan(d, g),
                     lambda change: lrm_sim.apply_change(host.sim, change), lambda: lrm_sim.gather(host.sim, params))
        after = host.files()
        config = "fs/C/Windows/System32/inetsrv/config/applicationHost.config"
        assert after[config] == before[config], "rollback did not restore the original bytes"


@SLOW
@given(profile=st.sampled_from(["iqwebx_quarantined", "iqwebx_deleted"]), age=st.integers(0, 365),
       install_dir=st.sampled_from(["C:\\Program Files\\iQ-WEBX", "C:\\Program Files\\iQ-WEBX\\", "D:\\iQ"]))
def test_iqwebx_converges_on_a_simulated_host(profile, age, install_dir):
    args = {**IQW_BASE, "signature_max_age_days": age, "install_dir": install_dir,
            "artifacts": {"2.2.0.6": {"path": str(ROOT / "tests/fixtures/iqwebx/LicGen-2.2.0.6.bin"), "sha256": SHA}}}
    desired = iqwebx.validate(args, "iqwebx_licgen_", now="2026-01-01T00:00:00Z")
    artifact_bytes = (ROOT / "tests/fixtures/iqwebx/LicGen-2.2.0.6.bin").read_bytes()
    artifact = {"sha256": SHA, "content": base64.b64encode(artifact_bytes).decode()}
    params = {"install_dir": desired.install_dir, "login_url": desired.login_url,
              "evidence_path": desired.evidence_path, "pages": {}, "scan_record": desired.scan_record,
              "third_party_services": {}}
    with Host(profile) as host:
        converge("iqwebx_licgen", lambda g: iqwebx.plan(desired, g, artifact),
                 lambda change: iqwebx_sim.apply_change(host.sim, change), lambda: iqwebx_sim.gather(host.sim, params))


# -- the properties can fail ----------------------------------------------------------------------------------------

def test_the_properties_catch_a_broken_validator():
    """Validation that crashes, accepts a trailing newline, or misreads "false" is caught."""
    with mock.patch.object(firewall, "as_list", lambda value, *_a, **_k: value or []), pytest.raises(TypeError):
        test_firewall_validation_is_total_and_names_the_variable.hypothesis.inner_test(
            key="management_ports", data=_Fixed(5985))
    with mock.patch.object(firewall, "RULE_NAME", re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")), \
            pytest.raises(AssertionError):
        test_firewall_rule_keys_are_total_and_named.hypothesis.inner_test(
            key="name", action="allow", data=_Fixed("r\n"))
    with mock.patch.object(lrm_patch, "as_bool", lambda value, *_a, **_k: bool(value)), pytest.raises(AssertionError):
        test_boolean_options_read_strings_as_ansible_does("false")


class _Fixed:
    """Stands in for st.data() to replay one value."""

    def __init__(self, value):
        self.value = value

    def draw(self, _strategy, label=None):
        return self.value
