"""The planner over Microsoft-baseline entries: profiles, predicates, every mechanism, GPO, exceptions, guards."""

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import baseline
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

LSA = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa"
WINRM = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WinRM\\Service"
CATALOG = [
    {"id": "MS-MaximumPasswordAge", "title": "Maximum password age", "ms_name": "MS-BASELINE-WS2025-2510:X",
     "source": ["SRC-PMR-2"], "mechanism": "secpol", "key": "MaximumPasswordAge", "type": "int",
     "values": {"workgroup": 42, "member_server": 42}, "range": [1, 999],
     "expect": {"workgroup": {"range": [1, 70]}, "member_server": {"range": [1, 60]}}},
    {"id": "MS-LmCompat", "title": "LAN Manager authentication level", "ms_name": "MS-BASELINE-WS2025-2510:Y",
     "source": ["SRC-PMR-2"], "mechanism": "secopt", "path": LSA, "name": "LmCompatibilityLevel", "type": "dword",
     "values": {"workgroup": 5, "member_server": 5}, "range": [0, 5]},
    {"id": "MS-DebugPrograms", "title": "Debug programs", "ms_name": "MS-BASELINE-WS2025-2510:Z",
     "source": ["SRC-PMR-2"], "mechanism": "user_right", "right": "SeDebugPrivilege",
     "values": {"workgroup": ["*S-1-5-32-544"], "member_server": ["*S-1-5-32-544"]},
     "expect": {"workgroup": {"contains_exactly": ["*S-1-5-32-544"]},
                "member_server": {"contains_exactly": ["*S-1-5-32-544"]}}},
    {"id": "MS-RemoteRegistryPaths", "title": "Remotely accessible registry paths", "ms_name": "M:P",
     "source": ["SRC-PMR-2"], "mechanism": "registry", "type": "multi_string",
     "path": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurePipeServers\\Winreg\\AllowedExactPaths",
     "name": "Machine", "values": {"member_server": ["System\\CurrentControlSet\\Control\\ProductOptions"]}},
    {"id": "MS-AuditCredentialValidation", "title": "Audit Credential Validation", "ms_name": "M:A",
     "source": ["SRC-PMR-2"], "mechanism": "auditpol", "guid": "{0CCE923F-69AE-11D9-BED3-505054503030}",
     "subcategory": "Credential Validation", "values": {"workgroup": "success_and_failure",
                                                        "member_server": "success_and_failure"}},
    {"id": "MS-WinRMAllowBasic", "title": "WinRM service: allow Basic", "ms_name": "M:B", "source": ["SRC-PMR-2"],
     "mechanism": "registry", "type": "dword", "path": WINRM, "name": "AllowBasic",
     "values": {"workgroup": 0, "member_server": 0}, "management_guard": "winrm_basic"},
    {"id": "MS-LocalAccountTokenFilterPolicy", "title": "UAC restrictions on network logons", "ms_name": "M:L",
     "source": ["SRC-PMR-2"], "mechanism": "registry", "type": "dword",
     "path": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
     "name": "LocalAccountTokenFilterPolicy", "values": {"member_server": 0}, "management_guard": "local_account"},
    {"id": "MS-FirewallPublicState", "title": "Firewall state", "ms_name": "M:F", "source": ["SRC-PMR-2"],
     "mechanism": "registry", "type": "dword", "path": "HKLM\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall\\X",
     "name": "EnableFirewall", "values": {"workgroup": 1}, "delegate": "firewall",
     "delegate_reason": "the firewall role owns the profile state"},
    {"id": "MS-NewFeature", "title": "A setting of newer builds", "ms_name": "M:N", "source": ["SRC-PMR-2"],
     "mechanism": "registry", "type": "dword", "path": LSA, "name": "NewThing", "values": {"workgroup": 1},
     "min_build": 17763},
    {"id": "MS-RenameAdministratorAccount", "title": "Rename administrator account", "ms_name": "M:R",
     "source": ["SRC-PMR-2"], "mechanism": "secpol", "key": "NewAdministratorName", "type": "string",
     "report_only": True, "values": {"workgroup": "", "member_server": ""},
     "expect": {"workgroup": {"not_equals": "Administrator"}, "member_server": {"not_equals": "Administrator"}}},
]
INF = ("[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMaximumPasswordAge = 42\r\n"
       'NewAdministratorName = "Administrator"\r\n[Privilege Rights]\r\n'
       "SeDebugPrivilege = *S-1-5-32-544,*S-1-5-32-545\r\n")
AUDIT = ("Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value\r\n"
         "H,System,Credential Validation,{0CCE923F-69AE-11D9-BED3-505054503030},Success,,1\r\n")


def gathered(**extra):
    return {"registry": {LSA: {"LmCompatibilityLevel": 3}}, "secpol_inf": INF, "auditpol_csv": AUDIT,
            "services": {}, "os_build": 14393, "os_ubr": 6709, **extra}


def run(state=None, **args):
    desired = baseline.validate({"catalog": CATALOG, "products": [], **args}, "baseline_")
    return {c.id: c for c in baseline.plan(desired, state or gathered()).controls}, desired


def plan_of(state=None, **args):
    desired = baseline.validate({"catalog": CATALOG, **args}, "baseline_")
    return baseline.plan(desired, state or gathered())


def test_a_value_inside_the_profile_range_is_compliant_without_a_change():
    controls, _desired = run()
    assert controls["MS-MaximumPasswordAge"].status == "compliant"
    assert controls["MS-MaximumPasswordAge"].expected == "MaximumPasswordAge = 1-70"


def test_profile_decides_range_and_which_settings_exist():
    state = gathered(secpol_inf=INF.replace("= 42", "= 65"))
    workgroup, _desired = run(state)
    member, _desired = run(state, profile="member_server")
    assert workgroup["MS-MaximumPasswordAge"].status == "compliant"
    assert member["MS-MaximumPasswordAge"].status == "drift"
    assert workgroup["MS-RemoteRegistryPaths"].status == "not_applicable"
    assert "workgroup profile" in workgroup["MS-RemoteRegistryPaths"].message
    assert member["MS-RemoteRegistryPaths"].status == "drift"


def test_one_template_carries_system_access_user_rights_and_registry_values():
    plan = plan_of(gathered(secpol_inf=INF.replace("= 42", "= 0")))
    secedit = [c for c in plan.changes if c.kind == "apply_secpol"]
    assert len(secedit) == 1
    inf = secedit[0].params["inf"]
    assert "[System Access]\r\nMaximumPasswordAge = 42\r\n" in inf
    assert "[Privilege Rights]\r\nSeDebugPrivilege = *S-1-5-32-544\r\n" in inf
    assert "[Registry Values]\r\nMACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\LmCompatibilityLevel=4,5\r\n" in inf
    assert {*secedit[0].controls} == {"MS-MaximumPasswordAge", "MS-LmCompat", "MS-DebugPrograms"}
    # the registry batch does not carry the security option: secedit writes it
    registry = [c for c in plan.changes if c.kind == "set_registry"]
    assert all(v["name"] != "LmCompatibilityLevel" for c in registry for v in c.params["values"])


def test_multi_string_registry_values_are_set_as_lists():
    plan = plan_of(profile="member_server")
    values = next(c for c in plan.changes if c.kind == "set_registry").params["values"]
    assert {"path": CATALOG[3]["path"], "name": "Machine", "type": "multi_string",
            "value": ["System\\CurrentControlSet\\Control\\ProductOptions"]} in values


def test_audit_subcategory_by_guid():
    plan = plan_of()
    audit = next(c for c in plan.changes if c.kind == "apply_auditpol").params["csv"]
    assert ",System,Credential Validation,{0CCE923F-69AE-11D9-BED3-505054503030},Success and Failure,,3" in audit


def test_group_policy_values_are_reported_never_changed():
    gpo = {"secpol": {"MaximumPasswordAge": "90"}, "user_rights": {"SeDebugPrivilege": ["*S-1-5-32-544"]},
           "registry": {LSA: {"LmCompatibilityLevel": 3}}, "audit": {}}
    controls, _desired = run(gathered(gpo=gpo, secpol_inf=INF.replace("= 42", "= 90")))
    assert controls["MS-MaximumPasswordAge"].status == "manual"
    assert "set by Group Policy: 90" in controls["MS-MaximumPasswordAge"].message
    assert controls["MS-LmCompat"].status == "manual"
    assert controls["MS-DebugPrograms"].status == "compliant"
    assert controls["MS-DebugPrograms"].message == "set by Group Policy"
    plan = plan_of(gathered(gpo=gpo, secpol_inf=INF.replace("= 42", "= 90")))
    assert not any(c.kind == "apply_secpol" for c in plan.changes)


def test_settings_of_newer_builds_are_not_applicable_on_older_ones():
    controls, _desired = run()
    assert controls["MS-NewFeature"].status == "not_applicable"
    assert "build 17763" in controls["MS-NewFeature"].message
    newer, _desired = run(gathered(os_build=17763))
    assert newer["MS-NewFeature"].status == "drift"


def test_delegated_settings_name_their_owner():
    controls, _desired = run()
    assert controls["MS-FirewallPublicState"].status == "not_applicable"
    assert controls["MS-FirewallPublicState"].message == "the firewall role owns the profile state"


@pytest.mark.parametrize(("management", "cid", "kept"), [
    ({"transport": "basic", "user": "ansible"}, "MS-WinRMAllowBasic", True),
    ({"transport": "ntlm", "user": "ansible"}, "MS-WinRMAllowBasic", False),
    ({"transport": "ntlm", "user": "ansible"}, "MS-LocalAccountTokenFilterPolicy", True),
    ({"transport": "kerberos", "user": "ansible@HOSPITAL.LOCAL"}, "MS-LocalAccountTokenFilterPolicy", False),
    ({"transport": "ntlm", "user": "HOSPITAL\\ansible"}, "MS-LocalAccountTokenFilterPolicy", False),
    ({"transport": "ntlm", "user": ".\\ansible"}, "MS-LocalAccountTokenFilterPolicy", True),
    ({"transport": "ntlm", "user": "HOSPITAL\\ansible", "account": "local"}, "MS-LocalAccountTokenFilterPolicy", True),
])
def test_settings_that_would_cut_off_management_are_kept(management, cid, kept):
    controls, _desired = run(profile="member_server", management=management)
    assert (controls[cid].status == "not_applicable") is kept
    if kept:
        assert controls[cid].message.startswith("kept: would cut off management")
        assert "ansible" not in controls[cid].message.replace("ansible_", "")  # the account is never named


def test_product_conflicts_except_the_control_with_the_vendor_source():
    table = {"iqwebx": [{"id": "MS-DebugPrograms", "source": "SRC-IQW-3", "reason": "the PACS needs it"}]}
    controls, _desired = run(products=["iqwebx"], product_conflicts=table)
    assert controls["MS-DebugPrograms"].status == "not_applicable"
    assert controls["MS-DebugPrograms"].message == "conflicts with SRC-IQW-3 (iqwebx): the PACS needs it"
    other, _desired = run(products=["philips_mr"], product_conflicts=table)
    assert other["MS-DebugPrograms"].status == "drift"


@pytest.mark.parametrize(("table", "variable"), [
    ({"pacs": []}, "baseline_product_conflicts"),
    ({"iqwebx": [{"id": "MS-Nope", "source": "SRC-IQW-3", "reason": "x"}]}, "baseline_product_conflicts.iqwebx[0].id"),
    ({"iqwebx": [{"id": "MS-LmCompat", "source": "IQW-3", "reason": "x"}]},
     "baseline_product_conflicts.iqwebx[0].source"),
    ({"iqwebx": [{"id": "MS-LmCompat"}]}, "baseline_product_conflicts.iqwebx[0]"),
])
def test_a_bad_conflict_table_is_refused_naming_the_variable(table, variable):
    with pytest.raises(ArgumentError) as error:
        run(product_conflicts=table)
    assert error.value.variable == variable


def test_overrides_are_typed_and_range_checked():
    with pytest.raises(ArgumentError) as error:
        run(values={"MS-LmCompat": 7})
    assert error.value.variable == "baseline_values[MS-LmCompat]" and "allowed: 0-5" in str(error.value)
    with pytest.raises(ArgumentError) as error:
        run(values={"MS-Unknown": 1})
    assert error.value.variable == "baseline_values"
    with pytest.raises(ArgumentError) as error:
        run(profile="domain_controller")
    assert error.value.variable == "baseline_profile" and "workgroup, member_server" in str(error.value)
    controls, _desired = run(values={"MS-MaximumPasswordAge": 60})
    assert controls["MS-MaximumPasswordAge"].status == "drift"  # 42 on the host, the site wants exactly 60


def test_report_only_settings_are_manual_until_the_site_chooses_a_value():
    controls, _desired = run()
    assert controls["MS-RenameAdministratorAccount"].status == "manual"
    assert "baseline_values[MS-RenameAdministratorAccount]" in controls["MS-RenameAdministratorAccount"].message
    plan = plan_of(values={"MS-RenameAdministratorAccount": "site-admin"})
    inf = next(c for c in plan.changes if c.kind == "apply_secpol").params["inf"]
    assert 'NewAdministratorName = "site-admin"' in inf


def test_profile_is_checked_against_domain_membership():
    controls, _desired = run(gathered(part_of_domain=True))
    assert controls["BL-PROFILE"].status == "manual"
    assert "baseline_profile: member_server" in controls["BL-PROFILE"].message
    controls, _desired = run(gathered(part_of_domain=True), profile="member_server")
    assert controls["BL-PROFILE"].status == "compliant"


def test_diff_lists_user_rights_and_security_options_old_to_new():
    text = plan_of().diff("Windows baseline")[-1]["prepared"]
    assert "  SeDebugPrivilege: *S-1-5-32-544, *S-1-5-32-545 \u2192 *S-1-5-32-544\n" in text
    assert f"  {LSA}\\LmCompatibilityLevel: 3 \u2192 5\n" in text


def test_a_binary_security_option_is_written_through_the_registry_not_the_template():
    binary = {"id": "MS-FullPrivilegeAuditing", "title": "Audit the use of Backup and Restore privilege",
              "ms_name": "M:FPA", "source": ["SRC-PMR-2"], "mechanism": "secopt", "type": "binary",
              "path": LSA, "name": "FullPrivilegeAuditing", "values": {"workgroup": "00", "member_server": "00"}}
    desired = baseline.validate({"catalog": [*CATALOG, binary]}, "baseline_")
    plan = baseline.plan(desired, gathered(registry={LSA: {"LmCompatibilityLevel": 5, "FullPrivilegeAuditing": "01"}},
                                           registry_kinds={LSA: {"FullPrivilegeAuditing": "binary"}}))
    registry = next(c for c in plan.changes if c.kind == "set_registry")
    assert {"path": LSA, "name": "FullPrivilegeAuditing", "type": "binary", "value": "00"} in registry.params["values"]
    assert "MS-FullPrivilegeAuditing" in registry.controls
    secedit = next(c for c in plan.changes if c.kind == "apply_secpol")
    assert "FullPrivilegeAuditing" not in secedit.params["inf"]


def test_a_registry_value_of_another_type_is_drift_even_when_it_reads_the_same():
    controls, _desired = run(gathered(registry={LSA: {"LmCompatibilityLevel": "5"}},
                                      registry_kinds={LSA: {"LmCompatibilityLevel": "string"}}))
    assert controls["MS-LmCompat"].status == "drift"
    assert "(string, expected dword)" in controls["MS-LmCompat"].actual


def test_a_value_a_gpo_deletes_is_group_policy_too():
    gpo = {"registry": {LSA: {"LmCompatibilityLevel": None}}, "secpol": {}, "user_rights": {}, "audit": {}}
    controls, _desired = run(gathered(gpo=gpo))
    assert controls["MS-LmCompat"].status == "manual"
    assert "set by Group Policy: absent" in controls["MS-LmCompat"].message
