"""The baseline twin (plugins/modules/baseline.py) as Windows behaves: typed registry values, the
security template's [Privilege Rights] and [Registry Values], secedit's refusals, Group Policy (RSoP)."""

import pathlib
import re

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.module_utils.baseline_formats import parse_inf, render_inf
from ansible_collections.meddev.hardening.plugins.modules import baseline as twin
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema, winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS1 = (ROOT / "plugins/modules/baseline.ps1").read_text(encoding="utf-8")
SCHEMA = "baseline"
KEY = "HKLM\\SOFTWARE\\Meddev\\Test"
LSA = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa"
ADMINS, USERS = "*S-1-5-32-544", "*S-1-5-32-545"


@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "carestream_imagesuite", winsim_profiles.load("carestream_imagesuite"))


def gather(host, values=()):
    state = twin.gather(host, {"registry_values": [{"path": p, "name": n} for p, n in values], "services": []})
    assert host_schema.check_state(SCHEMA, state) == []
    return state


def set_registry(host, *items):
    twin.apply_change(host, {"kind": "set_registry", "values": [
        {"path": KEY, "name": name, "type": kind, "value": value} for name, kind, value in items]})


def configure(host, inf):
    twin.apply_change(host, {"kind": "apply_secpol", "inf": inf})


# -- typed registry ---------------------------------------------------------------------------------------

def test_the_gather_reports_every_registry_type_and_keeps_expand_sz_unexpanded(host):
    registry = host.read("registry")
    registry[KEY] = {"D": 4294967295, "S": "text", "M": ["one"], "Q": {"kind": "qword", "value": 2 ** 40},
                     "E": {"kind": "expand_string", "value": "%SystemRoot%\\Temp"},
                     "B": {"kind": "binary", "value": "00ff"}}
    host.write("registry", registry)
    state = gather(host, [(KEY, n) for n in "DSMQEB"] + [(KEY, "Absent")])
    assert state["registry"][KEY] == {"D": 4294967295, "S": "text", "M": ["one"], "Q": 2 ** 40,
                                      "E": "%SystemRoot%\\Temp", "B": "00ff"}
    assert state["registry_kinds"][KEY] == {"D": "dword", "S": "string", "M": "multi_string", "Q": "qword",
                                            "E": "expand_string", "B": "binary"}


def test_set_registry_writes_each_type_and_reads_it_back(host):
    set_registry(host, ("D", "dword", 1), ("Q", "qword", 2 ** 33), ("S", "string", "x"),
                 ("E", "expand_string", "%ProgramData%\\x"), ("M", "multi_string", ["a", "b"]), ("B", "binary", "0A1b"))
    state = gather(host, [(KEY, n) for n in "DQSEMB"])
    assert state["registry"][KEY] == {"D": 1, "Q": 2 ** 33, "S": "x", "E": "%ProgramData%\\x", "M": ["a", "b"],
                                      "B": "0a1b"}
    assert state["registry_kinds"][KEY]["E"] == "expand_string" and state["registry_kinds"][KEY]["Q"] == "qword"
    # what every other twin reads stays plain for DWORD/SZ/MULTI_SZ
    assert host.read("registry")[KEY]["D"] == 1 and host.read("registry")[KEY]["M"] == ["a", "b"]


def test_a_write_of_another_type_replaces_the_value_under_its_existing_name(host):
    registry = host.read("registry")
    registry[KEY] = {"Level": "1"}
    host.write("registry", registry)
    set_registry(host, ("level", "dword", 1))
    assert host.read("registry")[KEY] == {"Level": 1}
    assert gather(host, [(KEY, "LEVEL")])["registry_kinds"][KEY] == {"LEVEL": "dword"}


@pytest.mark.parametrize("kind, value", [
    ("dword", -1), ("dword", 2 ** 32), ("dword", True), ("dword", "1"), ("qword", 2 ** 63), ("string", 5),
    ("multi_string", ["a", ""]), ("multi_string", "a"), ("binary", "abc"), ("binary", "zz"), ("reg_none", 1),
])
def test_values_windows_would_not_store_are_refused_after_the_ones_before_them(host, kind, value):
    with pytest.raises(winsim.SimError):
        set_registry(host, ("Good", "dword", 1), ("Bad", kind, value), ("After", "dword", 1))
    assert host.read("registry")[KEY] == {"Good": 1}


def test_only_hklm_is_read_or_written(host):
    with pytest.raises(winsim.SimError, match="only HKLM"):
        twin.gather(host, {"registry_values": [{"path": "HKCU\\Software\\x", "name": "a"}], "services": []})
    with pytest.raises(winsim.SimError, match="only HKLM"):
        twin.apply_change(host, {"kind": "set_registry", "values": [
            {"path": "HKCU\\Software\\x", "name": "a", "type": "dword", "value": 1}]})


def test_a_malformed_seed_value_is_refused_not_guessed(host):
    registry = host.read("registry")
    registry[KEY] = {"X": {"kind": "dword", "value": "1"}}
    host.write("registry", registry)
    with pytest.raises(winsim.SimError, match="dword"):
        gather(host, [(KEY, "X")])


# -- secedit /export ------------------------------------------------------------------------------------

def test_export_has_privilege_rights_and_only_the_security_options_secedit_knows(host):
    secpol = host.read("secpol")
    secpol["Privilege Rights"] = {"SeNetworkLogonRight": f"{ADMINS},{USERS}", "SeTrustedCredManAccessPrivilege": ""}
    host.write("secpol", secpol)
    registry = host.read("registry")
    registry[LSA] = {"LimitBlankPasswordUse": 1, "NotASecurityOption": 7}
    host.write("registry", registry)
    inf = gather(host)["secpol_inf"]
    sections = parse_inf(inf)
    assert sections["Privilege Rights"] == {"SeNetworkLogonRight": f"{ADMINS},{USERS}"}  # no one: left out
    line = "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"
    assert sections["Registry Values"][line] == "4,1"
    assert "NotASecurityOption" not in inf
    order = [line for line in inf.splitlines() if line.startswith("[")]
    assert order == ["[Unicode]", "[System Access]", "[Registry Values]", "[Privilege Rights]", "[Version]"]


def test_export_writes_strings_quoted_and_multi_strings_comma_separated(host):
    registry = host.read("registry")
    registry["HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"] = {
        "LegalNoticeCaption": "Clinical", "LegalNoticeText": ["Authorised", "use only"]}
    host.write("registry", registry)
    values = parse_inf(gather(host)["secpol_inf"])["Registry Values"]
    prefix = "MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\"
    assert values[prefix + "LegalNoticeCaption"] == '1,"Clinical"'
    assert values[prefix + "LegalNoticeText"] == "7,Authorised,use only"


# -- secedit /configure ---------------------------------------------------------------------------------

def test_configure_sets_rights_and_registry_values_with_their_types(host):
    configure(host, render_inf({"PasswordHistorySize": 24},
                               {"SeNetworkLogonRight": [ADMINS], "SeRemoteShutdownPrivilege": []},
                               ["MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse=4,1",
                                'MACHINE\\Software\\Meddev\\Test\\Caption=1,"a, b"',
                                'MACHINE\\Software\\Meddev\\Test\\Path=2,"%SystemRoot%\\x"',
                                "MACHINE\\Software\\Meddev\\Test\\Pipes=7,one,two",
                                "MACHINE\\Software\\Meddev\\Test\\Empty=7,"]))
    state = gather(host, [(KEY, n) for n in ("Caption", "Path", "Pipes", "Empty")] + [(LSA, "LimitBlankPasswordUse")])
    assert state["registry"][KEY] == {"Caption": "a, b", "Path": "%SystemRoot%\\x", "Pipes": ["one", "two"],
                                      "Empty": []}
    assert state["registry_kinds"][KEY]["Path"] == "expand_string"
    assert state["registry"][LSA] == {"LimitBlankPasswordUse": 1}
    sections = parse_inf(state["secpol_inf"])
    assert sections["Privilege Rights"]["SeNetworkLogonRight"] == ADMINS
    assert "SeRemoteShutdownPrivilege" not in sections["Privilege Rights"]
    assert sections["System Access"]["PasswordHistorySize"] == "24"


def test_configure_empties_a_right_the_template_gives_no_one(host):
    configure(host, render_inf({}, {"SeDebugPrivilege": [ADMINS]}))
    configure(host, render_inf({}, {"SeDebugPrivilege": []}))
    assert "SeDebugPrivilege" not in parse_inf(gather(host)["secpol_inf"]).get("Privilege Rights", {})


@pytest.mark.parametrize("section, line, message", [
    ("Privilege Rights", f"SeMadeUpPrivilege = {ADMINS}", "Error 1313"),
    ("Privilege Rights", "SeDebugPrivilege = Administrators", "Error 1332"),
    ("Registry Values", "MACHINE\\Software\\Meddev\\Test\\X=9,1", "unknown registry type"),
    ("Registry Values", "MACHINE\\Software\\Meddev\\Test\\X=4", "unknown registry type"),
    ("Registry Values", "MACHINE\\Software\\Meddev\\Test\\X=4,abc", "invalid \\[Registry Values\\] line"),
    ("Registry Values", "MACHINE\\Software\\Meddev\\Test\\X=1,unquoted", "invalid \\[Registry Values\\] line"),
    ("Registry Values", "USER\\Software\\X=4,1", "invalid \\[Registry Values\\] line"),
    ("Registry Values", "MACHINE\\Software\\Meddev\\Test\\X", "invalid \\[Registry Values\\] line"),
])
def test_configure_refuses_a_bad_template_and_changes_nothing(host, section, line, message):
    secpol, registry = host.read("secpol"), host.read("registry")
    inf = f"[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nPasswordHistorySize = 24\r\n[{section}]\r\n{line}\r\n"
    with pytest.raises(winsim.SimError, match=r"secedit /configure failed \(exit \d+\): .*" + message):
        configure(host, inf)
    assert host.read("secpol") == secpol and host.read("registry") == registry


def test_configure_keeps_the_error_87_lockout_check(host):
    with pytest.raises(winsim.SimError, match=r"exit 87"):
        configure(host, render_inf({"LockoutDuration": 10, "ResetLockoutCount": 30}))


# -- Group Policy and domain membership -----------------------------------------------------------------

def test_a_workgroup_host_has_no_group_policy_and_is_not_domain_joined(host):
    state = gather(host)
    assert state["gpo"] == {"registry": {}, "secpol": {}, "user_rights": {}, "audit": {}, "error": ""}
    assert state["part_of_domain"] is False


def test_group_policy_is_reported_in_the_gather_shape(host):
    os_doc = host.read("os")
    host.write("os", {**os_doc, "PartOfDomain": True})
    document = {"registry": {LSA: {"LmCompatibilityLevel": 5}}, "secpol": {"MinimumPasswordLength": 14},
                "user_rights": {"SeDenyNetworkLogonRight": ["*S-1-5-32-546"]},
                "audit": {"{0CCE9215-69AE-11D9-BED3-505054503030}": "success_and_failure"}}
    host.write("gpo", document)
    state = gather(host)
    assert state["gpo"] == {**document, "error": ""} and state["part_of_domain"] is True


def test_group_policy_audit_is_read_only_on_a_domain_member_and_a_read_failure_is_data(host):
    host.write("gpo", {"audit": {"{0CCE9215-69AE-11D9-BED3-505054503030}": "success"}})
    assert gather(host)["gpo"]["audit"] == {}
    host.write("gpo", {"error": "Access denied", "secpol": {"MinimumPasswordLength": 14}})
    assert gather(host)["gpo"] == {"registry": {}, "secpol": {}, "user_rights": {}, "audit": {},
                                   "error": "Access denied"}


def test_part_of_domain_must_be_a_boolean(host):
    host.write("os", {**host.read("os"), "PartOfDomain": "yes"})
    with pytest.raises(winsim.SimError, match="PartOfDomain"):
        gather(host)


# -- the whole loop through the planner -------------------------------------------------------------------

def round_trip_catalog():
    def registry(name, kind, value):
        return {"id": f"T-{name}", "title": name, "mechanism": "registry", "path": KEY, "name": name, "type": kind,
                "values": {"workgroup": value}, "source": ["SRC-PMR-2"], "severity": "warning"}
    return [
        registry("D", "dword", 1), registry("Q", "qword", 2 ** 40), registry("S", "string", "on"),
        registry("E", "expand_string", "%SystemRoot%\\Logs"), registry("M", "multi_string", ["a", "b"]),
        registry("B", "binary", "00ff"),
        {"id": "T-RIGHT", "title": "Access this computer from the network", "mechanism": "user_right",
         "right": "SeNetworkLogonRight", "values": {"workgroup": [ADMINS, USERS]}, "source": ["SRC-PMR-2"],
         "severity": "warning"},
        {"id": "T-SECOPT", "title": "Limit blank passwords", "mechanism": "secopt", "path": LSA,
         "name": "LimitBlankPasswordUse", "type": "dword", "values": {"workgroup": 1}, "source": ["SRC-PMR-2"],
         "severity": "warning"},
    ]


def desired_and_params():
    desired = baseline.validate({"catalog": round_trip_catalog(), "profile": "workgroup"})
    values = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries
              if e.mechanism in ("registry", "secopt")]
    return desired, {"registry_values": values, "services": []}


def test_gather_plan_apply_gather_makes_every_type_a_right_and_a_security_option_compliant(host):
    registry = host.read("registry")
    registry[LSA] = {"LimitBlankPasswordUse": 0}
    registry[KEY] = {"D": 0}
    host.write("registry", registry)
    desired, params = desired_and_params()
    first = baseline.plan(desired, twin.gather(host, params))
    assert {c.id for c in first.controls if c.status == "drift"} == {e.id for e in desired.entries}
    for change in first.changes:
        twin.apply_change(host, {"kind": change.kind, **change.params})
    state = twin.gather(host, params)
    after = baseline.plan(desired, state)
    assert [c.id for c in after.controls if c.status != "compliant"] == [] and not after.changes
    assert state["registry_kinds"][KEY] == {"D": "dword", "Q": "qword", "S": "string", "E": "expand_string",
                                            "M": "multi_string", "B": "binary"}


def test_a_value_of_the_wrong_registry_type_is_drift(host):
    registry = host.read("registry")
    registry[KEY] = {"D": "1"}
    host.write("registry", registry)
    desired, params = desired_and_params()
    controls = {c.id: c for c in baseline.plan(desired, twin.gather(host, params)).controls}
    assert controls["T-D"].status == "drift"


# -- the .ps1, read against the contract --------------------------------------------------------------------

def test_the_ps1_reads_registry_values_read_only_unexpanded_and_typed():
    assert "OpenSubKey($subKey, $false)" in PS1
    assert "[Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames" in PS1
    assert "GetValueKind($Name)" in PS1
    for kind in ("DWord", "QWord", "String", "ExpandString", "MultiString", "Binary"):
        assert f"kind = '{kind}'" in PS1  # New-ItemProperty -PropertyType for every contract type


def test_the_ps1_exports_and_configures_both_areas():
    areas = re.findall(r"'/areas', 'SECURITYPOLICY', 'USER_RIGHTS'", PS1)
    assert len(areas) == 2 and "'/areas', 'SECURITYPOLICY', '/quiet'" not in PS1


def test_the_ps1_never_fails_the_gather_on_group_policy():
    body = PS1[PS1.index("function Get-GroupPolicyState {"):PS1.index("function Get-BaselineState {")]
    assert "'InvalidNamespace'" in body and "return $empty" in body
    assert re.search(r"catch \{\s+\$empty\.error = ", body)
    for cls in ("RSOP_RegistryPolicySetting", "RSOP_RegistryValue", "RSOP_SecuritySettingNumeric",
                "RSOP_SecuritySettingBoolean", "RSOP_SecuritySettingString", "RSOP_UserPrivilegeRight"):
        assert f"'{cls}'" in body


def test_two_spellings_of_one_key_are_gathered_under_the_first_as_the_ps1_hashtables_do(host):
    registry = host.read("registry")
    registry["HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"] = {"SMB1": 0, "AutoDisconnect": 15}
    host.write("registry", registry)
    first, second = ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters",
                     "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters")
    state = gather(host, [(first, "SMB1"), (second, "AutoDisconnect"), (second, "smb1")])
    assert state["registry"] == {first: {"SMB1": 0, "AutoDisconnect": 15}}
    assert state["registry_kinds"] == {first: {"SMB1": "dword", "AutoDisconnect": "dword"}}
    assert "$values = @{}" in PS1 and "$values[$item.path][$item.name] = $entry.value" in PS1
