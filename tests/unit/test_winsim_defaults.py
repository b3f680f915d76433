"""The winsim bases (tests/fixtures/profiles/bases) model a fresh Windows 10 LTSB 2016 and Windows Server 2019
for every Microsoft-baseline setting, and docs/winsim-defaults.md documents each value with its source."""

import csv
import json
import pathlib
import re

import pytest
import yaml

from ansible_collections.meddev.hardening.plugins.module_utils import winsim
from ansible_collections.meddev.hardening.plugins.module_utils.baseline_formats import parse_inf
from ansible_collections.meddev.hardening.plugins.modules import baseline as twin
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema, winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANCHORS = ROOT / "tests" / "fixtures" / "microsoft-security-baseline"
DOC = ROOT / "docs" / "winsim-defaults.md"
BASES = {"ltsb": "windows10_ltsb", "server": "windows_server_2019"}
COLUMNS = {"ltsb": 3, "server": 4}
ABSENT = object()
GUID = re.compile(r"\A\{0CCE92[0-9A-F]{2}-69AE-11D9-BED3-505054503030\}\Z")
SID_LIST = re.compile(r"\A\*S-1-\d+(?:-\d+)+(?:,\*S-1-\d+(?:-\d+)+)*\Z")
POLICY_KEYS = ("HKLM\\SOFTWARE\\POLICIES\\", "HKLM\\SYSTEM\\CURRENTCONTROLSET\\POLICIES\\")


def csv_settings():
    """(Name, Availability) of every row of Microsoft's baseline CSVs."""
    rows = []
    for path in sorted(ANCHORS.glob("*.csv")):
        with open(path, encoding="utf-8-sig") as handle:
            rows += [(r["Name"], r["Availability"]) for r in csv.DictReader(handle)]
    return rows


def doc_rows():
    """The table rows of docs/winsim-defaults.md: setting, key, value name, LTSB, Server, source."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| Setting |"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 6, line
        rows.append(cells)
    return rows


def doc_value(cell: str):
    assert cell.startswith("`") and cell.endswith("`"), cell
    text = cell[1:-1]
    return ABSENT if text == "absent" else json.loads(text)


def unquote(cell: str) -> str:
    return cell[1:-1] if cell.startswith("`") else cell


@pytest.fixture(scope="module")
def bases():
    return {side: winsim_profiles.load_base(name, winsim_profiles.PROFILE_DIR)["state"] for side, name in BASES.items()}


def base_value(state: dict, key: str, name: str):
    """What the base holds for one documented row (ABSENT when it has nothing)."""
    if key == "[System Access]":
        return state["secpol"]["System Access"].get(name, ABSENT)
    if key == "[Privilege Rights]":
        return state["secpol"]["Privilege Rights"].get(name, ABSENT)
    if key == "auditpol":
        guid, _sep, subcategory = name.partition(" ")
        entry = state["auditpol"][guid]
        assert entry["name"] == subcategory
        return entry["setting"]
    if key == "service":
        return state["services"].get(name, ABSENT)
    registry = {k.lower(): v for k, v in state["registry"].items()}
    values = {k.lower(): v for k, v in registry.get(key.lower(), {}).items()}
    return values.get(name.lower(), ABSENT)


def test_every_baseline_setting_has_a_documented_default_for_both_bases():
    documented = {}
    for setting, _key, _name, ltsb, server, source in doc_rows():
        documented.setdefault(setting, []).append((ltsb, server, source))
    missing = [name for name, availability in csv_settings()
               if availability.strip() != "Domain Controller" and name not in documented]
    assert missing == []
    for name, entries in documented.items():
        for ltsb, server, source in entries:
            doc_value(ltsb), doc_value(server)
            assert source.strip(), f"{name}: no source"


def test_every_documented_row_is_what_the_base_holds(bases):
    mismatches = []
    for setting, key_cell, name_cell, *values, _source in doc_rows():
        key, name = unquote(key_cell), unquote(name_cell)
        if key.startswith("(none"):
            continue
        for side, column in COLUMNS.items():
            expected = doc_value(values[column - 3])
            actual = base_value(bases[side], key, name)
            if actual != expected:
                mismatches.append((side, setting, key, name, expected, actual))
    assert mismatches == []


def test_no_group_policy_value_on_a_fresh_install(bases):
    for state in bases.values():
        assert [k for k in state["registry"] if k.upper().startswith(POLICY_KEYS)] == []


def test_every_advanced_audit_subcategory_by_a_well_formed_unique_guid(bases):
    for state in bases.values():
        audit = state["auditpol"]
        assert len(audit) == 59
        assert all(GUID.match(guid) for guid in audit)
        assert len({entry["name"] for entry in audit.values()}) == 59
        assert {e["setting"] for e in audit.values()} <= {"No Auditing", "Success", "Failure", "Success and Failure"}
    assert set(bases["ltsb"]["auditpol"]) == set(bases["server"]["auditpol"])


def test_user_rights_are_sid_lists(bases):
    for state in bases.values():
        rights = state["secpol"]["Privilege Rights"]
        assert rights and all(SID_LIST.match(v) for v in rights.values())
        assert set(rights) <= set(twin.PRIVILEGE_RIGHTS.values())


def test_the_bases_differ_where_windows_differs(bases):
    ltsb, server = bases["ltsb"], bases["server"]
    assert (ltsb["os"]["ProductType"], server["os"]["ProductType"]) == (1, 3)
    assert (ltsb["hotfixes"]["os_build"], server["hotfixes"]["os_build"]) == (14393, 17763)
    access = [b["secpol"]["System Access"]["EnableAdminAccount"] for b in (ltsb, server)]
    assert access == ["0", "1"]  # the built-in Administrator is enabled on a stand-alone server only
    lanman_server = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
    smb1 = [base_value(b, lanman_server, "SMB1") for b in (ltsb, server)]
    assert smb1 == [1, ABSENT]  # SMBv1 is not installed on a clean Server 2019
    assert "WMPNetworkSvc" in ltsb["services"] and "WMPNetworkSvc" not in server["services"]


@pytest.mark.parametrize("profile, product_type", [("iqwebx_quarantined", 3), ("iqwebx_deleted", 3),
                                                   ("lrm_instrument", 1), ("carestream_imagesuite", 1)])
def test_profiles_load_their_base(profile, product_type):
    state = winsim_profiles.load(profile)["state"]
    assert state["os"]["ProductType"] == product_type
    assert len(state["auditpol"]) == 59 and state["secpol"]["Privilege Rights"]


@pytest.mark.parametrize("side", sorted(BASES))
def test_the_twin_gathers_each_base_as_documented(tmp_path, side):
    """A host seeded from the base answers the gather with the documented values and nothing else."""
    profile = winsim_profiles.load_base(BASES[side], winsim_profiles.PROFILE_DIR)
    host = winsim.seed(tmp_path / side, BASES[side], profile)
    rows = [(unquote(k), unquote(n), doc_value(v[COLUMNS[side] - 3])) for _s, k, n, *v, _src in doc_rows()]
    registry = [(k, n, v) for k, n, v in rows if k.startswith("HKLM\\")]
    state = twin.gather(host, {"registry_values": [{"path": k, "name": n} for k, n, _v in registry], "services": []})
    assert host_schema.check_state("baseline", state) == []
    got = {(k.lower(), n.lower()): v for k, names in state["registry"].items() for n, v in names.items()}
    for key, name, documented in registry:
        value = got.get((key.lower(), name.lower()), ABSENT)
        # typed in the base ({kind, value}), plain in the gather (binary as hex)
        expected = documented["value"] if isinstance(documented, dict) else documented
        assert value == expected, (key, name)
    inf = parse_inf(state["secpol_inf"])
    assert inf["System Access"] == profile["state"]["secpol"]["System Access"]
    assert inf["Privilege Rights"] == profile["state"]["secpol"]["Privilege Rights"]
    assert inf["Registry Values"]["MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"] == "4,1"


# Catalog locations that are not where Windows keeps the value (reported to the catalog's owner): the CSV
# spells SecurePipeServers without "Control\"; the bases and this page use the real key.
KNOWN_CATALOG_MISPLACEMENTS = {
    "hklm\\system\\currentcontrolset\\securepipeservers\\winreg\\allowedexactpaths":
        "hklm\\system\\currentcontrolset\\control\\securepipeservers\\winreg\\allowedexactpaths",
    "hklm\\system\\currentcontrolset\\securepipeservers\\winreg\\allowedpaths":
        "hklm\\system\\currentcontrolset\\control\\securepipeservers\\winreg\\allowedpaths",
}


def catalog_entries():
    entries = []
    for path in sorted((ROOT / "roles/baseline/defaults/main").glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
        entries += document.get("baseline_ms_catalog", []) + document.get("baseline_catalog", [])
    return entries


def test_every_catalog_setting_has_a_documented_fresh_default():
    documented = {(unquote(k).lower(), unquote(n).lower()) for _s, k, n, *_rest in doc_rows()}
    guids = {n.split(" ")[0] for key, n in documented if key == "auditpol"}
    missing = []
    for entry in catalog_entries():
        mechanism = entry.get("mechanism")
        if mechanism in ("registry", "secopt"):
            key = entry["path"].lower()
            where = (KNOWN_CATALOG_MISPLACEMENTS.get(key, key), str(entry["name"]).lower())
        elif mechanism == "secpol":
            where = ("[system access]", entry["key"].lower())
        elif mechanism == "user_right":
            where = ("[privilege rights]", entry["right"].lower())
        elif mechanism == "auditpol":
            if entry["guid"].lower() not in guids:
                missing.append(entry["id"])
            continue
        else:
            continue
        if where not in documented:
            missing.append(entry["id"])
    assert missing == []
