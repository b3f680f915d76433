"""The Microsoft-baseline catalog (roles/baseline/defaults/main/ms_baseline.yml) is generated from Microsoft's CSV
by tests/tools/baseline_catalog_build.py, stays in sync with it, accounts for every CSV row, and is consistent with
itself: every value it would set satisfies its own compliance predicate (a baseline that sets a value it then calls
drift is a bug). Fast, no Ansible."""

import importlib.util
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("baseline_catalog_build", ROOT / "tests/tools/baseline_catalog_build.py")
build = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(build)

CATALOG = yaml.safe_load(build.OUTPUT.read_text(encoding="utf-8"))["baseline_ms_catalog"]
HAND = yaml.safe_load(build.HAND_CATALOG.read_text(encoding="utf-8"))["baseline_catalog"]
OVERLAY = yaml.safe_load(build.OVERLAY.read_text(encoding="utf-8"))
TABLE = yaml.safe_load(build.CIS_TABLE.read_text(encoding="utf-8"))
BASELINE_ROWS = build.read_csv(build.BASELINE_CSV)
DEFENDER_ROWS = build.read_csv(build.DEFENDER_CSV)
RESULT = build.build(OVERLAY, HAND, BASELINE_ROWS, DEFENDER_ROWS)
IDS = [e["id"] for e in CATALOG]

# Microsoft's table of user-right constants (MicrosoftDocs/windows-itpro-docs, security-policy-settings/
# user-rights-assignment.md @10d2dafa, "Group Policy Setting | Constant Name"), kept here independently of the overlay.
DOCUMENTED_RIGHTS = {
    "SeTrustedCredManAccessPrivilege", "SeNetworkLogonRight", "SeTcbPrivilege", "SeMachineAccountPrivilege",
    "SeIncreaseQuotaPrivilege", "SeInteractiveLogonRight", "SeRemoteInteractiveLogonRight", "SeBackupPrivilege",
    "SeChangeNotifyPrivilege", "SeSystemtimePrivilege", "SeTimeZonePrivilege", "SeCreatePagefilePrivilege",
    "SeCreateTokenPrivilege", "SeCreateGlobalPrivilege", "SeCreatePermanentPrivilege", "SeCreateSymbolicLinkPrivilege",
    "SeDebugPrivilege", "SeDenyNetworkLogonRight", "SeDenyBatchLogonRight", "SeDenyServiceLogonRight",
    "SeDenyInteractiveLogonRight", "SeDenyRemoteInteractiveLogonRight", "SeEnableDelegationPrivilege",
    "SeRemoteShutdownPrivilege", "SeAuditPrivilege", "SeImpersonatePrivilege", "SeIncreaseWorkingSetPrivilege",
    "SeIncreaseBasePriorityPrivilege", "SeLoadDriverPrivilege", "SeLockMemoryPrivilege", "SeBatchLogonRight",
    "SeServiceLogonRight", "SeSecurityPrivilege", "SeRelabelPrivilege", "SeSystemEnvironmentPrivilege",
    "SeDelegateSessionUserImpersonatePrivilege", "SeManageVolumePrivilege", "SeProfileSingleProcessPrivilege",
    "SeSystemProfilePrivilege", "SeUndockPrivilege", "SeAssignPrimaryTokenPrivilege", "SeRestorePrivilege",
    "SeShutdownPrivilege", "SeSyncAgentPrivilege", "SeTakeOwnershipPrivilege",
}
PROFILES = ("workgroup", "member_server")
VALUE_TYPES = {"dword": int, "qword": int, "int": int, "string": str, "expand_string": str, "multi_string": list,
               "binary": str}


def by_id(cid: str) -> dict:
    return next(e for e in CATALOG if e["id"] == cid)


def predicates(pred: dict):
    """The predicate and every nested one."""
    yield pred
    (key, arg), = pred.items()
    if key == "all_of":
        for sub in arg:
            yield from predicates(sub)


# -- in sync, every row accounted for --------------------------------------------------------------------------------
def test_generated_files_are_current():
    assert build.main(["--check"]) == 0, "run .venv/bin/python tests/tools/baseline_catalog_build.py"


def test_check_mode_reports_a_stale_catalog(tmp_path, monkeypatch):
    stale = tmp_path / "ms_baseline.yml"
    stale.write_text(build.OUTPUT.read_text(encoding="utf-8").replace("severity: critical", "severity: warning", 1))
    monkeypatch.setattr(build, "OUTPUT", stale)
    monkeypatch.setattr(build, "COVERAGE_DOC", build.COVERAGE_DOC)
    assert build.main(["--check"]) == 1


def test_every_csv_row_is_an_entry_covered_or_excluded_with_a_reason():
    assert (len(BASELINE_ROWS), len(DEFENDER_ROWS)) == (329, 48)
    outcome = RESULT["outcome"]
    assert len(outcome) == 329 + 48
    labels = {f"MS-BASELINE-WS2025-2510:{r['Name']}" for r in BASELINE_ROWS} | \
        {f"MS-DEFENDER-2510:{r['Name']}" for r in DEFENDER_ROWS}
    assert set(outcome) == labels
    in_catalog = {e["ms_name"] for e in CATALOG}
    hand_ids = {e["id"] for e in HAND}
    for label, fate in outcome.items():
        if fate in ("entered", "delegated"):
            assert label in in_catalog, label
        elif fate == "covered":
            assert label not in in_catalog and set(RESULT["covered"][label]) <= hand_ids, label
        else:
            assert fate == "excluded" and len(str(RESULT["excluded"][label]).strip()) > 10, label
            assert label not in in_catalog


def test_domain_controller_only_and_secured_core_rows_are_excluded_and_member_rows_enter():
    for row in BASELINE_ROWS:
        label = f"MS-BASELINE-WS2025-2510:{row['Name']}"
        if row["Availability"] == "Domain Controller":
            assert "Domain Controller only" in RESULT["excluded"][label]
        elif row["Category"] == "SecuredCore":
            assert "Secured-core" in RESULT["excluded"][label]
        elif row["Registry Key"] or not row["CSP Path"].startswith("Config/Cryptography/OverrideMinimum"):
            assert RESULT["outcome"][label] in ("entered", "delegated", "covered"), label


def test_rows_the_vendor_catalog_sets_are_not_repeated():
    """Same location as a BL- entry -> covered_by, never a second writer of the same value."""
    hand = build.hand_locations(HAND)
    for entry in CATALOG:
        assert build.location(entry) not in hand, entry["id"]
    assert RESULT["covered"]["MS-BASELINE-WS2025-2510:DeviceLockAccountLockoutPolicy"] == \
        ["BL-LOCKOUT-DURATION", "BL-LOCKOUT-RESET", "BL-LOCKOUT-THRESHOLD"]
    assert RESULT["covered"]["MS-BASELINE-WS2025-2510:AuditLogon"] == ["BL-AUDIT-LOGON"]


def test_overlay_covered_by_list_must_match_the_vendor_catalog():
    overlay = dict(OVERLAY, covered_by=dict(OVERLAY["covered_by"]))
    del overlay["covered_by"]["AuditLogon"]
    with pytest.raises(build.BuildError, match="covered_by"):
        build.build(overlay, HAND, BASELINE_ROWS, DEFENDER_ROWS)


# -- entries ---------------------------------------------------------------------------------------------------------
def test_ids_are_unique_also_against_the_vendor_catalog():
    assert len(IDS) == len(set(IDS))
    assert not set(IDS) & {e["id"] for e in HAND}
    assert all(re.fullmatch(r"MS-[A-Za-z0-9_]+(-[A-Za-z]+)?", i) for i in IDS)


@pytest.mark.parametrize("entry", CATALOG, ids=IDS)
def test_entry_shape(entry):
    assert entry["ms_name"] in (f"MS-BASELINE-WS2025-2510:{entry['id'][3:]}", f"MS-DEFENDER-2510:{entry['id'][3:]}")
    assert entry["severity"] in ("critical", "important", "warning", "informational")
    assert entry["source"][0] == "SRC-PMR-2" and all(re.fullmatch(r"SRC-[A-Z]+-\d+", s) for s in entry["source"])
    assert set(entry["values"]) <= set(PROFILES) and set(entry["expect"]) <= set(PROFILES)
    assert entry["values"] or entry.get("report_only")
    assert set(entry["values"]) <= set(entry["expect"])
    mechanism = entry["mechanism"]
    assert mechanism in ("registry", "secopt", "secpol", "user_right", "auditpol")
    if mechanism in ("registry", "secopt"):
        assert entry["path"].startswith("HKLM\\") and "HKLM:" not in entry["path"] and "/" not in entry["path"]
        assert entry["type"] in VALUE_TYPES
        for value in entry["values"].values():
            assert isinstance(value, VALUE_TYPES[entry["type"]])
            if entry["type"] == "binary":
                assert re.fullmatch(r"(?:[0-9a-f]{2})*", value)
    if "range" in entry:
        lo, hi = entry["range"]
        assert isinstance(lo, int) and (hi is None or (isinstance(hi, int) and lo <= hi))
    if entry.get("delegate"):
        assert entry["delegate"] == "firewall" and "WinRM" in entry["delegate_reason"]


@pytest.mark.parametrize("entry", CATALOG, ids=IDS)
def test_every_predicate_is_an_allowed_shape(entry):
    for pred in (p for top in entry["expect"].values() for p in predicates(top)):
        assert isinstance(pred, dict) and len(pred) == 1, pred
        (key, arg), = pred.items()
        assert key in build.PREDICATE_KEYS, pred
        if key == "range":
            assert len(arg) == 2 and isinstance(arg[0], int) and (arg[1] is None or isinstance(arg[1], int))
        elif key in ("one_of", "all_of", "contains_at_most", "contains_exactly", "contains_at_least"):
            assert isinstance(arg, list) and arg, pred
        elif key == "pattern":
            re.compile(arg)


@pytest.mark.parametrize("entry", CATALOG, ids=IDS)
def test_every_value_satisfies_its_own_profile_predicate(entry):
    for profile, value in entry["values"].items():
        assert build.satisfies(value, entry["expect"][profile]), (profile, value, entry["expect"][profile])


def test_audit_guids_are_well_formed_and_unique():
    guids = [e["guid"] for e in CATALOG if e["mechanism"] == "auditpol"] + [e["guid"] for e in HAND if e.get("guid")]
    assert all(re.fullmatch(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}", g) for g in guids)
    assert len(guids) == len(set(guids))
    for entry in (e for e in CATALOG if e["mechanism"] == "auditpol"):
        for value in entry["values"].values():
            assert value in ("no_auditing", "success", "failure", "success_and_failure")


def test_user_right_constants_are_documented_and_values_are_sid_lists():
    rights = [e for e in CATALOG if e["mechanism"] == "user_right"]
    assert len(rights) == 39
    assert len({e["right"] for e in rights}) == 39
    for entry in rights:
        assert entry["right"] in DOCUMENTED_RIGHTS, entry["id"]
        for value in entry["values"].values():
            assert all(re.fullmatch(r"\*S-1-\d+(-\d+)*", sid) for sid in value), value
    assert by_id("MS-UserRightsAccessFromNetwork")["right"] == "SeNetworkLogonRight"
    assert by_id("MS-UserRightsActAsPartOfTheOperatingSystem")["values"] == {"workgroup": [], "member_server": []}


def test_every_cis_reference_is_in_the_table_and_is_the_recommendation_for_this_setting():
    rows = {}
    for row in TABLE["recommendations"]:
        rows.setdefault((row["benchmark"], row["id"]), set()).add(row["setting"].lower())
    titles = {title: bench for bench, title in build.BENCHMARK_TITLES.items()}
    cited = 0
    for entry in CATALOG:
        reference = entry["reference"]
        if reference == build.NO_CIS:
            continue
        for part in reference.split("; "):
            title, rid = part.rsplit(" ", 1)
            key = (titles[title], rid)
            assert key in rows, (entry["id"], part)
            assert build.cis_setting(entry).lower() in rows[key], (entry["id"], part, rows[key])
            cited += 1
    assert cited > 300
    for row in TABLE["recommendations"]:
        assert row["title"].startswith("Ensure '") and row["path"].startswith("tasks/")


# -- facts the CSV gets wrong or lacks ---------------------------------------------------------------------------------
def test_smb_audit_policies_sit_under_the_key_microsoft_documents_not_the_csvs():
    server = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer"
    workstation = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation"
    assert by_id("MS-AuditClientDoesNotSupportEncryption")["path"] == server
    assert by_id("MS-AuditInsecureGuestLogon")["path"] == workstation
    assert by_id("MS-AuditClientDoesNotSupportEncryption")["min_build"] == 26100


def test_binary_values_are_decoded_from_the_csvs_base64():
    assert build.binary_hex("MDA=") == "00" and build.binary_hex("MQ==") == "01"
    entry = by_id("MS-AuditBackupAndRestorePrivilege")
    assert entry["type"] == "binary" and entry["values"]["member_server"] == "00"


def test_csv_expressions_map_to_the_predicate_shapes():
    parse = build.parse_expression
    assert build.predicate(parse("Range(16384, )"), "dword") == {"range": [16384, None]}
    assert build.predicate(parse("OneOf(Equals(0), Equals(null))"), "dword") == {"one_of": [0, None]}
    assert build.predicate(parse("Equals(1)"), "string") == {"equals": "1"}  # REG_SZ compared as text
    assert build.predicate(parse("Range(0, 4)"), "string") == {"one_of": ["0", "1", "2", "3", "4"]}
    assert build.predicate(parse("Equals('')"), "user_right") == {"equals": []}
    assert build.predicate(parse("OneOf(Equals(2), Equals(3))"), "auditpol") == \
        {"one_of": ["failure", "success_and_failure"]}
    assert build.predicate(parse("Not(OneOf(Equals(''), Equals(null)))"), "string") == \
        {"all_of": [{"not_equals": ""}, {"not_equals": None}]}


def test_a_comma_separated_reg_sz_set_predicate_accepts_subsets_only():
    pred = build.predicate(build.parse_expression("ContainsAtMost('TLS_A','TLS_B')"), "string")
    assert build.satisfies("TLS_B,TLS_A", pred) and build.satisfies("tls_a", pred)
    assert not build.satisfies("TLS_A,TLS_RSA_WITH_NULL_SHA", pred)
    assert not build.satisfies(None, pred)
    at_least = build.predicate(build.parse_expression("ContainsAtLeast('*')"), "string")
    assert build.satisfies("*", at_least) and not build.satisfies("10.0.0.1-10.0.0.9", at_least)


def test_absent_values_only_satisfy_one_of_with_null():
    assert not build.satisfies(None, {"equals": 0})
    assert not build.satisfies(None, {"not_equals": "Administrator"})
    assert build.satisfies(None, {"one_of": [0, None]})


def test_firewall_profile_rows_are_delegated_and_logging_rows_are_not():
    delegated = {e["name"] for e in CATALOG if e.get("delegate")}
    assert delegated == {"EnableFirewall", "DefaultInboundAction", "DefaultOutboundAction", "AllowLocalPolicyMerge",
                         "AllowLocalIPsecPolicyMerge"}
    assert len([e for e in CATALOG if e.get("delegate")]) == 15  # 5 values x 3 profiles
    logging = by_id("MS-FirewallPublicProfileLogDroppedPackets")
    assert "delegate" not in logging and logging["category"] == "firewall"
    assert "delegate" not in by_id("MS-FirewallPublicProfileDisplayNotification")


@pytest.mark.parametrize(("cid", "guard"), [
    ("MS-ApplyUACRestrictionsToLocalAccountsOnNetworkLogon", "local_account"),
    ("MS-UseAdminApprovalMode", "builtin_administrator"),
    ("MS-RemoteManagementAllowBasicAuthentication_Service", "winrm_basic"),
    ("MS-RemoteManagementAllowUnencryptedTraffic_Service", "winrm_unencrypted"),
])
def test_settings_that_can_cut_off_winrm_carry_a_management_guard(cid, guard):
    assert by_id(cid)["management_guard"] == guard
    assert "management_guard" not in by_id("MS-RemoteManagementAllowBasicAuthentication_Client")


def test_renames_have_no_value_to_set_and_are_report_only():
    for cid, key, name in (("MS-RenameAdministratorAccount", "NewAdministratorName", "Administrator"),
                           ("MS-RenameGuestAccount", "NewGuestName", "Guest")):
        entry = by_id(cid)
        assert entry["report_only"] is True and entry["key"] == key
        assert entry["values"] == {"workgroup": "", "member_server": ""}  # in both profiles, nothing to set
        assert entry["expect"]["workgroup"] == {"not_equals": name}


def test_profiles_follow_the_csv_columns():
    assert set(by_id("MS-ApplyUACRestrictionsToLocalAccountsOnNetworkLogon")["values"]) == {"member_server"}
    assert set(by_id("MS-EnabledNTPClient")["values"]) == {"workgroup"}
    assert set(by_id("MS-FirewallDomainProfileLogDroppedPackets")["values"]) == {"member_server"}
    assert set(by_id("MS-ASRBlockAbuseOfExploitedVulnerableSignedDrivers")["values"]) == {"workgroup", "member_server"}


def test_asr_rule_states_are_written_as_the_strings_the_admx_defines():
    """windowsdefender.admx stores each ASR rule state as REG_SZ; the CSV says REG_DWORD, which Defender would not
    read as the policy (and the check would then pass on the value we wrote ourselves)."""
    rules = [e for e in CATALOG if e.get("path", "").endswith("\\ASR\\Rules")]
    assert len(rules) == 19
    for entry in rules:
        assert entry["type"] == "string" and all(v in ("0", "1", "2", "6") for v in entry["values"].values())
    assert by_id("MS-AttackSurfaceReductionRules")["type"] == "dword"
