"""lrm_patch host side: sites from applicationHost.config, Server vs client features, private backups.

The twin (plugins/modules/lrm_patch.py) runs here; the .ps1 cannot, so what it must do is checked
on its text (comments stripped) where the twin cannot show it.
"""

import base64
import pathlib
import re

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch, winsim
from ansible_collections.meddev.hardening.plugins.modules import lrm_patch as lrm_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARAMS = {"audit_path": r"C:\ProgramData\meddev.hardening\lrm_patch\audit.json",
          "backup_dir": r"C:\ProgramData\meddev.hardening\backups", "busy_processes": [], "busy_services": []}
USERS = "S-1-5-32-545"


def ps1_code() -> str:
    """lrm_patch.ps1 without its comments (a comment naming a cmdlet is not a call)."""
    text = (ROOT / "plugins/modules/lrm_patch.ps1").read_text(encoding="utf-8")
    return "\n".join(line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#"))


@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "lrm_instrument", winsim_profiles.load("lrm_instrument"))


def desired(**args):
    return lrm_patch.validate({**PARAMS, **args}, "lrm_patch_", now="2026-12-02T00:00:00Z", collection_version="0")


def apply_plan(host, plan):
    for change in plan.changes:
        lrm_sim.apply_change(host, change.as_host_dict())


# -- 1. sites come from applicationHost.config, not from WebAdministration ------------------------------

def test_sites_found_without_the_webadministration_module(host):
    assert host.read("features")["IIS-ManagementScriptingTools"] is False  # no WebAdministration on this host
    state = lrm_sim.gather(host, PARAMS)
    assert state["site_folders"]["LRM"] == ["bin", "Content", "Uploads"]
    assert state["site_folders_error"] is None


def test_ps1_reads_sites_from_the_config_with_dtd_prohibited():
    code = ps1_code()
    assert not re.search(r"Get-Website|WebAdministration|Get-WebSite|IIS:\\", code, re.I)
    assert "[System.Xml.DtdProcessing]::Prohibit" in code and "XmlResolver = $null" in code
    assert "/configuration/system.applicationHost/sites/site" in code
    assert "ExpandEnvironmentVariables" in code


def test_physical_paths_expand_environment_variables(host):
    target = host.windows_path(lrm_patch.APPHOST)
    raw = target.read_bytes().replace(br'physicalPath="C:\Illumina\Local Run Manager\Web"',
                                      br'physicalPath="%LRM_ROOT%\Web"')
    assert raw != target.read_bytes()
    target.write_bytes(raw)
    host.write("environment", {"LRM_ROOT": r"C:\Illumina\Local Run Manager"})
    assert "Uploads" in lrm_sim.gather(host, PARAMS)["site_folders"]["LRM"]


def test_unreadable_config_is_reported_not_an_empty_site_list(host):
    host.windows_path(lrm_patch.APPHOST).write_bytes(b"<configuration><system.applicationHost>")
    state = lrm_sim.gather(host, PARAMS)
    assert state["site_folders"] == {} and "not readable XML" in state["site_folders_error"]


def test_planner_says_why_no_upload_folder_was_found(host):
    gathered = lrm_sim.gather(host, PARAMS)
    gathered.update(site_folders={}, site_folders_error="applicationHost.config is not readable XML: boom")
    control = next(c for c in lrm_patch.plan(desired(), gathered).controls if c.id == "LRM-UPLOAD")
    assert control.status == "failed" and "boom" in control.message and "lrm_patch_upload_folders" in control.message


# -- 2. Server or client: decided by ProductType ----------------------------------------------------------

def test_client_uses_the_optional_feature_and_refuses_servermanager(host):
    assert lrm_sim.product_type(host) == 1
    assert lrm_sim.gather(host, PARAMS)["features"] == {"Web-IP-Security": True}  # IIS-IPSecurity enabled
    with pytest.raises(winsim.SimError, match="Get-WindowsFeature"):
        lrm_sim.windows_feature(host, "Web-IP-Security")
    host.write("features", {"IIS-IPSecurity": False, "Web-IP-Security": True})  # a Server name means nothing here
    assert lrm_sim.gather(host, PARAMS)["features"] == {"Web-IP-Security": False}
    lrm_sim.apply_change(host, {"kind": "install_feature", "name": "Web-IP-Security"})
    assert host.read("features")["IIS-IPSecurity"] is True


@pytest.mark.parametrize("product_type", [2, 3])
def test_server_uses_windowsfeature_and_refuses_the_optional_feature(host, product_type):
    host.write("os", {"ProductType": product_type})
    host.write("features", {"Web-Server": True, "Web-IP-Security": False})
    assert lrm_sim.gather(host, PARAMS)["product_type"] == product_type
    with pytest.raises(winsim.SimError, match="Install-WindowsFeature"):
        lrm_sim.optional_feature(host, "IIS-IPSecurity")
    plan = lrm_patch.plan(desired(install_ip_security=True), lrm_sim.gather(host, PARAMS))
    assert plan.changes[0].kind == "install_feature"
    apply_plan(host, plan)
    assert host.read("features")["Web-IP-Security"] is True


def test_unseeded_product_type_is_refused(host):
    host.write("os", {})
    with pytest.raises(winsim.SimError, match="ProductType"):
        lrm_sim.gather(host, PARAMS)


def test_ps1_decides_the_feature_cmdlets_by_product_type():
    code = ps1_code()
    assert "Get-CimInstance -ClassName Win32_OperatingSystem" in code and ".ProductType" in code
    assert not re.search(r"Get-Command\s+(-Name\s+)?(Get|Install)-WindowsFeature", code)
    assert "Get-WindowsOptionalFeature -Online -FeatureName 'IIS-IPSecurity'" in code
    assert "Get-WindowsFeature -Name 'Web-IP-Security'" in code


# -- 3. backups readable by Administrators and SYSTEM only ------------------------------------------------

def test_backups_are_not_readable_by_users(host):
    plan = lrm_patch.plan(desired(), lrm_sim.gather(host, PARAMS))
    write = next(c for c in plan.changes if c.kind == "write_file")
    apply_plan(host, plan)
    backup = write.params["backup_path"]
    assert host.windows_path(backup).is_file()
    assert USERS not in lrm_sim.readers(host, backup)
    assert lrm_sim.readers(host, backup) == {"S-1-5-32-544", "S-1-5-18"}
    assert lrm_sim.gather(host, PARAMS)["backup_dir_access"] == "private"


def test_an_existing_open_backup_dir_is_tightened(host):
    folder = host.windows_path(PARAMS["backup_dir"])
    folder.mkdir(parents=True)
    (folder / "old.orig").write_bytes(b"<configuration/>")
    assert USERS in lrm_sim.readers(host, PARAMS["backup_dir"] + r"\old.orig")  # inherited from ProgramData
    gathered = lrm_sim.gather(host, PARAMS)
    assert gathered["backup_dir_access"] == "open"
    plan = lrm_patch.plan(desired(), gathered)
    control = next(c for c in plan.controls if c.id == "LRM-BACKUP-ACL")
    assert control.status == "drift"
    assert ("secure_dir", {"path": PARAMS["backup_dir"]}) in [(c.kind, c.params) for c in plan.changes]
    apply_plan(host, plan)
    assert USERS not in lrm_sim.readers(host, PARAMS["backup_dir"] + r"\old.orig")
    again = lrm_patch.plan(desired(), lrm_sim.gather(host, PARAMS))
    assert again.changes == () and next(c for c in again.controls if c.id == "LRM-BACKUP-ACL").status == "compliant"


def test_rollback_keeps_the_backups_private(host):
    apply_plan(host, lrm_patch.plan(desired(), lrm_sim.gather(host, PARAMS)))
    host.write("acl", {})  # someone reset the folder's ACL to inherited
    plan = lrm_patch.plan(desired(state="absent"), lrm_sim.gather(host, PARAMS))
    assert "secure_dir" in [c.kind for c in plan.changes]


def test_ps1_gives_backup_dir_an_administrators_and_system_acl():
    code = ps1_code()
    assert "SetAccessRuleProtection($true, $false)" in code
    assert "'S-1-5-32-544', 'S-1-5-18'" in code
    assert "[System.IO.Directory]::SetAccessControl($Path, $security)" in code
    # The backup folder is made private before the first backup is written into it.
    write_file = code[code.index("'write_file' {"):code.index("'write_audit' {")]
    assert write_file.index("Set-PrivateDirectory") < write_file.index("Write-FileAtomic -Path $Change.backup_path")


def test_gathered_apphost_is_the_config_bytes(host):
    state = lrm_sim.gather(host, PARAMS)
    assert base64.b64decode(state["apphost"]["content"]) == host.windows_path(lrm_patch.APPHOST).read_bytes()
