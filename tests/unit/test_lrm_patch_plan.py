"""LRM patch planning without a host: validation, discovery, deferral, audit, rollback."""

import base64
import hashlib
import json
import pathlib

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

APPHOST = (pathlib.Path(__file__).resolve().parents[1] / "fixtures/iis/applicationHost.config").read_bytes()
ARGS = {"audit_path": r"C:\ProgramData\m\audit.json", "backup_dir": r"C:\ProgramData\m\backups"}


def desired(**args):
    return lrm_patch.validate({**ARGS, **args}, "lrm_patch_", now="2026-11-23T00:00:00Z", collection_version="0.1.0")


def gathered(apphost=APPHOST, **extra):
    return {"lrm": {"installed": True, "version": "3.1.0", "install_dir": r"C:\Illumina\Local Run Manager"},
            "apphost": {"content": base64.b64encode(apphost).decode()}, "features": {"Web-IP-Security": True},
            "site_folders": {"LRM": ["bin", "Content", "Uploads", r"Uploads\tmp"]}, "busy": [], **extra}


@pytest.mark.parametrize(("option", "value", "variable"), [
    ("state", "removed", "lrm_patch_state"),
    ("upload_folders", ["../etc"], "lrm_patch_upload_folders"),
    ("upload_folders", ["a/b/c/d/e"], "lrm_patch_upload_folders"),
    ("blocked_extensions", ["asp"], "lrm_patch_blocked_extensions"),
    ("blocked_extensions", [".a;b"], "lrm_patch_blocked_extensions"),
    ("audit_path", "relative\\audit.json", "lrm_patch_audit_path"),
    ("backup_dir", 'C:\\bad|dir', "lrm_patch_backup_dir"),
    ("site_name", "a/b", "lrm_patch_site_name"),
])
def test_bad_input_names_the_variable(option, value, variable):
    with pytest.raises(ArgumentError) as error:
        desired(**{option: value})
    assert error.value.variable == variable


def test_upload_folders_are_found_by_pattern_and_declared_ones_added():
    folders = lrm_patch.upload_folders(desired(upload_folders=["Temp"]), ["bin", "Uploads", r"Data\FileUpload"])
    assert folders == ["Data/FileUpload", "Temp", "Uploads"]


def test_plan_writes_one_file_covering_every_drifted_control():
    plan = lrm_patch.plan(desired(), gathered())
    kinds = [c.kind for c in plan.changes]
    assert kinds == ["write_file", "write_audit"]
    write = plan.changes[0]
    assert set(write.controls) == {"LRM-REMOTE-BLOCK", "LRM-UPLOAD-Uploads"}  # Uploads\tmp inherits
    assert write.params["backup_path"].startswith(ARGS["backup_dir"] + "\\applicationHost.config.")
    assert plan.file_diffs and '+    <location path="LRM/Uploads">' in plan.file_diffs[0]["prepared"]
    record = json.loads(plan.changes[1].params["content"])
    assert record["state"] == "applied" and record["time"] == "2026-11-23T00:00:00Z"
    assert record["collection"] == "meddev.hardening 0.1.0"


def test_compliant_host_with_audit_plans_nothing():
    first = lrm_patch.plan(desired(), gathered())
    patched = base64.b64decode(first.changes[0].params["content"])
    audit = first.changes[1].params["content"]
    again = lrm_patch.plan(desired(), gathered(patched, audit_text=audit))
    assert again.changes == ()
    assert {c.status for c in again.controls} == {"compliant"}


def test_unreadable_audit_record_is_rewritten():
    first = lrm_patch.plan(desired(), gathered())
    patched = base64.b64decode(first.changes[0].params["content"])
    again = lrm_patch.plan(desired(), gathered(patched, audit_text="{not json"))
    assert [c.kind for c in again.changes] == ["write_audit"]


def test_busy_host_is_deferred_with_the_reason():
    plan = lrm_patch.plan(desired(), gathered(busy=["RTA"]))
    assert plan.changes == ()
    deferred = [c for c in plan.controls if c.status == "deferred"]
    assert deferred and all("RTA" in c.message and "lrm_patch_force" in c.message for c in deferred)
    assert lrm_patch.plan(desired(force=True), gathered(busy=["RTA"])).changes


def test_unknown_site_fails_with_the_sites_and_the_variable():
    plan = lrm_patch.plan(desired(site_name="Nope"), gathered())
    control = plan.controls[0]
    assert control.status == "failed" and "Default Web Site, LRM" in control.message
    assert "lrm_patch_site_name" in control.message and plan.changes == ()


def test_rollback_restores_only_from_a_matching_backup():
    first = lrm_patch.plan(desired(), gathered())
    patched = base64.b64decode(first.changes[0].params["content"])
    backup_path = first.changes[0].params["backup_path"]
    backups = {backup_path: {"sha256": hashlib.sha256(APPHOST).hexdigest()}}
    audit_text = first.changes[1].params["content"]
    plan = lrm_patch.plan(desired(state="absent"), gathered(patched, backups=backups, audit_text=audit_text))
    assert [c.kind for c in plan.changes] == ["restore_file", "write_audit"]
    assert plan.changes[0].params["expected_sha256"] == hashlib.sha256(APPHOST).hexdigest()
    nothing = lrm_patch.plan(desired(state="absent"), gathered())
    assert nothing.changes == () and nothing.controls[0].status == "compliant"
