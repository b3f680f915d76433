"""Every CIS reference of the baseline catalog names its benchmark and version, and each id is the
recommendation for the setting the entry manages (roles/baseline/files/cis_recommendations.yml: public
CIS-derived ids, titles and settings, with their source). Before, BL-AUDIT-LOGON cited 17.5.3, which is
Audit Logoff, and no reference said which benchmark it meant."""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CATALOG = yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text())["baseline_catalog"]
DEFAULTS = yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text())
TABLE = yaml.safe_load((ROOT / "roles/baseline/files/cis_recommendations.yml").read_text())
ROWS = {(TABLE["benchmarks"][r["benchmark"]]["benchmark"], str(TABLE["benchmarks"][r["benchmark"]]["version"]),
         r["id"]): r for r in TABLE["recommendations"]}
CITATION = re.compile(r"^(?P<benchmark>CIS .+? Benchmark) v(?P<version>\d+\.\d+\.\d+)(?P<rest>.*)$")
NO_MATCH = "no matching CIS recommendation"


def settings_of(entry: dict) -> set:
    """What the entry manages, in the table's words."""
    mechanism = entry["mechanism"]
    if mechanism == "secpol":
        return {entry["key"]}
    if mechanism == "registry":
        return {f"{entry['path']}\\{entry['name']}".lower()}
    if mechanism == "auditpol":
        return {"audit " + entry["title"].removeprefix("Audit ")}
    if mechanism == "service":
        return {f"service {name}" for name in DEFAULTS[entry["variable"]]}
    return set()


def citations(entry: dict) -> list:
    """(benchmark, version, id) for each CIS id the reference cites; AssertionError for a bare 'CIS x.y'."""
    out = []
    for part in str(entry.get("reference") or "").split("; "):
        if not part.startswith("CIS"):
            assert not re.search(r"\bCIS \d", part), f"{entry['id']}: {part!r} names no benchmark and version"
            continue
        match = CITATION.match(part)
        assert match, f"{entry['id']}: {part!r} names no benchmark and version: not 'CIS <benchmark> v<version> <id>'"
        rest = match["rest"].strip()
        if rest.startswith(":"):
            assert NO_MATCH in rest, part
            continue
        out += [(match["benchmark"], match["version"], i.strip()) for i in rest.split(",")]
    return out


def mismatches(entry: dict) -> list:
    problems = []
    for key in citations(entry):
        row = ROWS.get(key)
        if row is None:
            problems.append(f"{entry['id']}: {key} is not in the table")
            continue
        setting = row["setting"].lower() if "\\" in row["setting"] else row["setting"]
        if setting not in settings_of(entry):
            problems.append(f"{entry['id']}: {key} is {row['title']!r} ({row['setting']}), not what the entry sets")
    return problems


@pytest.mark.parametrize("entry", CATALOG, ids=[e["id"] for e in CATALOG])
def test_each_cis_reference_names_benchmark_version_and_the_recommendation_for_this_setting(entry):
    assert not mismatches(entry)


@pytest.mark.parametrize("entry", CATALOG, ids=[e["id"] for e in CATALOG])
def test_an_entry_without_a_cis_id_says_so(entry):
    reference = str(entry.get("reference") or "")
    assert reference, f"{entry['id']} has no reference"
    if not citations(entry) and entry["mechanism"] != "hotfix":  # MS17-010 cites Microsoft's bulletin
        assert NO_MATCH in reference


@pytest.mark.parametrize(("cid", "stale", "title"), [
    ("BL-AUDIT-LOGON", "17.5.3", "Audit Logoff"),
    ("BL-LOCKOUT-RESET", "1.2.3", "Allow Administrator account lockout"),
    ("BL-BLANK-PASSWORDS", "2.3.1.4", None),
])
def test_the_stale_references_are_caught(cid, stale, title):
    entry = dict(next(e for e in CATALOG if e["id"] == cid))
    entry["reference"] = f"CIS Microsoft Windows 10 Enterprise Benchmark v3.0.0 {stale}"
    problems = mismatches(entry)
    assert problems and (title is None or title in problems[0])
    entry["reference"] = f"CIS {stale}"  # as the catalog had it: no benchmark, no version
    with pytest.raises(AssertionError, match="names no benchmark"):
        citations(entry)


def test_both_benchmarks_are_cited_where_both_have_the_recommendation():
    cited = {e["id"]: {b for b, _v, _i in citations(e)} for e in CATALOG}
    both = {"CIS Microsoft Windows 10 Enterprise Benchmark", "CIS Microsoft Windows Server 2019 Benchmark"}
    for cid in ("BL-PW-HISTORY", "BL-LOCKOUT-RESET", "BL-GUEST", "BL-IDLE-LOCK", "BL-SMB1-SERVER", "BL-AUDIT-LOGON",
                "BL-AUTORUN-DRIVES"):
        assert cited[cid] == both, cid


@pytest.mark.parametrize("cid", ["BL-RDP-DENY", "BL-RDP-NLA"])
def test_a_cis_note_names_recommendations_for_another_location_than_the_entry_sets(cid):
    """Where CIS sets the Group Policy value and the entry the local one, no id is claimed; the note says so."""
    entry = next(e for e in CATALOG if e["id"] == cid)
    assert not citations(entry) and NO_MATCH in entry["reference"]
    note = entry["cis_note"]
    for (_benchmark, _version, rid), row in ROWS.items():
        if rid in note and row["setting"].startswith("HKLM\\SOFTWARE\\Policies"):
            assert row["setting"].lower() not in settings_of(entry)
    assert "18.10.56.3.9.4" in note or "18.10.56.3.2.1" in note


def test_every_table_row_records_its_public_source():
    for key, row in TABLE["benchmarks"].items():
        assert re.match(r"ansible-lockdown/Windows-(10|2019)-CIS @ [0-9a-f]{40} ", row["source"]), key
    for row in TABLE["recommendations"]:
        assert row["path"].startswith("tasks/") and row["title"].startswith("Ensure '") and row["setting"]
