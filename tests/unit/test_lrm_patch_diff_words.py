"""The LRM patch's --diff in words, from a config that already has part of the patch (no host)."""

import base64
import pathlib

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch
from ansible_collections.meddev.hardening.plugins.module_utils.xmlpatch import Document

CONFIG = b"""<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <location path="LRM">
        <system.webServer>
            <security>
                <ipSecurity allowUnlisted="true">
                    <add ipAddress="127.0.0.1" allowed="true" />
                    <add ipAddress="10.0.0.5" allowed="true" />
                </ipSecurity>
            </security>
        </system.webServer>
    </location>
    <location path="LRM/Uploads">
        <system.webServer>
            <handlers accessPolicy="Read, Script" />
            <security>
                <requestFiltering>
                    <fileExtensions>
                        <add fileExtension=".asp" allowed="false" />
                        <add fileExtension=".exe" allowed="true" />
                    </fileExtensions>
                </requestFiltering>
            </security>
        </system.webServer>
    </location>
</configuration>
"""


def test_changed_and_removed_settings_say_old_and_new():
    doc = Document(CONFIG)
    assert lrm_patch.describe(doc.root, lrm_patch.lockdown_spec("LRM")) == [
        'security/ipSecurity allowUnlisted: "true" -> "false"',
        'security/ipSecurity/add ipAddress="10.0.0.5" allowed="true": present -> removed',
        'security/ipSecurity/add ipAddress="::1": absent -> added (allowed="true")',
    ]


def test_only_what_differs_is_listed():
    doc = Document(CONFIG)
    lines = lrm_patch.describe(doc.root, lrm_patch.upload_spec("LRM", "Uploads", (".asp", ".exe", ".js")))
    assert lines == [
        'handlers accessPolicy: "Read, Script" -> "Read"',
        'security/requestFiltering/fileExtensions/add fileExtension=".exe" allowed: "true" -> "false"',
        'security/requestFiltering/fileExtensions/add fileExtension=".js": absent -> added (allowed="false")',
    ]


def test_describing_does_not_edit():
    doc = Document(CONFIG)
    lrm_patch.describe(doc.root, lrm_patch.lockdown_spec("LRM"))
    assert not doc.changed()


def test_the_plan_diff_says_each_change_in_words_and_shows_the_file_once():
    apphost = (pathlib.Path(__file__).resolve().parents[1] / "fixtures/iis/applicationHost.config").read_bytes()
    desired = lrm_patch.validate({"audit_path": r"C:\ProgramData\m\audit.json", "backup_dir": r"C:\ProgramData\m\b",
                                  "reboot": "if_required", "busy_processes": ["RTA"]},
                                 "lrm_patch_", now="2026-11-23T00:00:00Z", collection_version="0.1.0")
    gathered = {"lrm": {"installed": True, "version": "3.1.0", "install_dir": r"C:\Illumina\Local Run Manager"},
                "apphost": {"content": base64.b64encode(apphost).decode()}, "features": {"Web-IP-Security": True},
                "site_folders": {"LRM": ["Uploads"]}, "busy": [], "boot_time": "2026-11-22T08:00:00Z"}
    words, config = lrm_patch.plan(desired, gathered).diff("Illumina LRM web configuration")
    text = words["prepared"]
    assert "prepared" not in config and config["before"] != config["after"]  # the file diff: printed once
    assert 'site "LRM": security/ipSecurity allowUnlisted: not set (inherited) -> "false"' in text
    assert "LRM-RESTART (" in text
    assert "Windows restart (shutdown.exe /r, " in text and "boot 2026-11-22T08:00:00Z -> a new boot" in text
