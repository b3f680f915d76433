#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.lrm_patch, and its simulated-host (winsim) implementation.

Real Windows hosts run ``lrm_patch.ps1``; the action plugin plans on the controller and calls
this host module with ``phase=gather`` and at most once with ``phase=apply``.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lrm_patch
short_description: Illumina Local Run Manager security patch v1.0 as code, with check mode, diff and rollback
version_added: 0.1.0
description:
  - Does what Illumina's LRM security patch does (SRC-LRM-1 ... SRC-LRM-8), on every LRM version;
    the IIS site serving LRM is discovered on the host, never assumed.
  - Makes IIS refuse every non-loopback client for the LRM site (C(ipSecurity allowUnlisted=false)
    with C(127.0.0.1) and C(::1) allowed, in a C(<location>) of applicationHost.config, where IIS
    honours the locked section). Without the IP and Domain Restrictions feature it installs it
    (O(install_ip_security)) or binds the site to loopback only and says so.
  - Stops execution of uploaded content in the site's upload folders (handlers C(accessPolicy=Read),
    request filtering denies script and executable extensions).
  - Edits the XML surgically on the controller, keeping every byte it does not own; backs up each file
    byte-exact before its first change; writes atomically; records an audit file (SRC-LRM-3).
  - C(state=absent) restores the original bytes and marks the audit record rolled back (SRC-LRM-4).
  - Defers (changes nothing) while an instrument run is in progress (SRC-LRM-5) unless O(force); can wait
    for the run to end (O(wait_for_idle)) and restart the host afterwards (O(reboot)).
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
options:
  state:
    description: C(present) applies or repairs; C(absent) restores the original configuration.
    type: str
    choices: [present, absent]
    default: present
  site_name:
    description: The IIS site serving LRM, when discovery (site path under the LRM install folder) is not enough.
    type: str
  upload_folders:
    description: Upload folders relative to the site, in addition to those found by O(upload_patterns).
    type: list
    elements: str
    default: []
  upload_patterns:
    description: Folder-name patterns (case-insensitive, two levels deep) treated as upload folders.
    type: list
    elements: str
    default: ["*upload*"]
  blocked_extensions:
    description: Extensions request filtering denies in upload folders.
    type: list
    elements: str
    default: [.asp, .aspx, .ashx, .asmx, .cshtml, .exe, .dll, .bat, .cmd, .ps1, .vbs, .js]
  install_ip_security:
    description: Install the IP and Domain Restrictions feature (Web-IP-Security) when it is missing.
    type: bool
    default: false
  force:
    description: Apply even while an instrument run is in progress.
    type: bool
    default: false
  busy_processes:
    description: Processes whose presence means a sequencing run is in progress.
    type: list
    elements: str
    default: []
  busy_services:
    description: Services whose Running state means a run is in progress.
    type: list
    elements: str
    default: []
  reboot:
    description:
      - The restart Illumina asks for at the end of the patch (SRC-LRM-5). C(never) reports it as C(manual);
        C(if_required) restarts when the IIS configuration changed during the current boot; C(always) restarts
        in every run that applies. The restart (C(shutdown.exe /r)) is refused while a run is in progress and
        needs O(busy_processes) or O(busy_services); the task waits until the boot time changes, gathers again
        and reports. Check mode never restarts.
    type: str
    choices: [never, if_required, always]
    default: never
  reboot_delay_s:
    description: Seconds C(shutdown.exe /t) waits before the restart (0-600).
    type: int
    default: 15
  reboot_timeout_s:
    description: Seconds the host may take to come back with a new boot time.
    type: int
    default: 1200
  reboot_poll_s:
    description: Seconds between two boot-time checks while waiting.
    type: int
    default: 10
  wait_for_idle:
    description:
      - Minutes to keep polling the busy check (one call per poll) when a run is in progress, applying as soon as
        the instrument is idle (SRC-LRM-5). 0 does not wait; on timeout the changes stay C(deferred).
    type: float
    default: 0
  wait_poll_s:
    description: Seconds between two busy checks while waiting.
    type: float
    default: 60
  audit_path:
    description: Where the audit record is written on the host.
    type: str
    required: true
  backup_dir:
    description: Where original files are backed up on the host.
    type: str
    required: true
  variable_prefix:
    description:
      - Internal. Set by the C(meddev.hardening.lrm_patch) role (to C(lrm_patch_));
        leave it unset when calling the module directly.
      - Prefix that error messages put before an option's name, so that they name the variable a
        role user sets (C(lrm_patch_<option>)) rather than the module option.
    type: str
    default: ""
notes:
  - Changes to applicationHost.config take effect without a restart; a feature install may need one,
    reported as RV(reboot_required).
"""

EXAMPLES = r"""
- name: Apply the LRM patch as code
  meddev.hardening.lrm_patch:
    audit_path: C:\ProgramData\meddev.hardening\lrm_patch\audit.json
    backup_dir: C:\ProgramData\meddev.hardening\backups
    busy_processes: [RTA]
"""

RETURN = r"""
controls:
  description: One entry per control (LRM-REMOTE-BLOCK, LRM-UPLOAD-*, LRM-TLS, LRM-AUDIT, ...).
  returned: always
  type: list
  elements: dict
site:
  description: The IIS site found to serve LRM.
  returned: when LRM is installed
  type: str
remote_block_method:
  description: C(ip_security) or C(loopback_bindings).
  returned: when the site was found
  type: str
reboot_required:
  description: Whether a restart is needed to finish (a feature install asked for one).
  returned: after apply
  type: bool
restarted:
  description: Whether the host came back from the restart with a new boot time.
  returned: when the restart was started
  type: bool
boot_time:
  description: Win32_OperatingSystem.LastBootUpTime (UTC) after the restart.
  returned: when the restart was started
  type: str
idle_polls:
  description: Busy checks made while waiting for the run to end.
  returned: when O(wait_for_idle) waited
  type: int
"""

import base64
import hashlib
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils import xmlpatch
from ansible_collections.meddev.hardening.plugins.module_utils.lrm_patch import APPHOST, sites
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import (
    SimError,
    SimHost,
    atomic_write_bytes,
    boot_state,
    busy_check,
    run_host_module,
    schedule_restart,
    write_record,
)

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply", "probe"]},
    "audit_path": {"type": "str", "required": True},
    "backup_dir": {"type": "str", "required": True},
    "busy_processes": {"type": "list", "elements": "str", "default": []},
    "busy_services": {"type": "list", "elements": "str", "default": []},
    "changes": {"type": "list", "elements": "dict", "default": []},
}


# Administrators and SYSTEM: the only principals a private folder admits.
PRIVATE_SIDS = ("S-1-5-32-544", "S-1-5-18")
USERS_SID = "S-1-5-32-545"
# What a folder under C:\ProgramData inherits on Windows as installed: Users may read.
INHERITED_READERS = ("S-1-5-32-544", "S-1-5-18", USERS_SID)
DEFAULT_ENVIRONMENT = {"SystemDrive": "C:", "SystemRoot": "C:\\Windows", "windir": "C:\\Windows",
                       "ProgramData": "C:\\ProgramData", "ProgramFiles": "C:\\Program Files",
                       "ProgramFiles(x86)": "C:\\Program Files (x86)"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lrm(host: SimHost) -> dict:
    entry = host.uninstall_entry(lambda name: name.startswith("Local Run Manager"))
    if entry is None:
        return {"installed": False}
    return {"installed": True, "version": entry.get("DisplayVersion"), "install_dir": entry.get("InstallLocation", "")}


# -- Windows edition and its feature cmdlets ----------------------------------------------------------

def product_type(host: SimHost) -> int:
    """Win32_OperatingSystem.ProductType (1 workstation, 2 domain controller, 3 server), seeded in os.json."""
    value = host.read("os").get("ProductType")
    if value not in (1, 2, 3):
        raise SimError(f"os.json: ProductType {value!r} is not seeded (1, 2 or 3)")
    return value


def windows_feature(host: SimHost, name: str, install: bool = False) -> bool:
    """Get-/Install-WindowsFeature: ServerManager exists on Windows Server only."""
    if product_type(host) == 1:
        raise SimError("The term 'Get-WindowsFeature' is not recognized as the name of a cmdlet (ServerManager "
                       "is a Windows Server module; this is a workstation, ProductType 1)")
    return _feature(host, name, install)


def optional_feature(host: SimHost, name: str, install: bool = False) -> bool:
    """Get-/Enable-WindowsOptionalFeature -Online; refused on Server (stricter than Windows: the Server
    names differ and the module uses ServerManager there)."""
    if product_type(host) != 1:
        raise SimError(f"optional feature {name} asked on Windows Server (ProductType "
                       f"{product_type(host)}): use Get-/Install-WindowsFeature")
    return _feature(host, name, install)


def _feature(host: SimHost, name: str, install: bool) -> bool:
    features = host.read("features")
    if install:
        features[name] = True
        host.write("features", features)
    return bool(features.get(name))


def _ip_security(host: SimHost, install: bool = False) -> bool:
    if product_type(host) == 1:
        return optional_feature(host, "IIS-IPSecurity", install)
    return windows_feature(host, "Web-IP-Security", install)


# -- applicationHost.config: sites read from the bytes, as the .ps1 does --------------------------------

def expand_environment(host: SimHost, text: str) -> str:
    """[Environment]::ExpandEnvironmentVariables: %NAME% replaced when defined, case-insensitively."""
    env = {k.lower(): v for k, v in {**DEFAULT_ENVIRONMENT, **host.read("environment")}.items()}
    return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), text or "")


def _site_folders(host: SimHost, apphost: bytes) -> tuple:
    """(site -> folders two levels deep, error). No WebAdministration module involved: the
    lab's instrument PC has none (IIS-ManagementScriptingTools off)."""
    out = {}
    if not apphost:
        return out, None
    try:
        found = sites(xmlpatch.Document(apphost))
    except xmlpatch.XmlError as error:
        return out, f"applicationHost.config is not readable XML: {error}"
    for site in found:
        root_app = site["node"].find("application", path="/")
        vdir = root_app.find("virtualDirectory", path="/") if root_app else None
        physical = expand_environment(host, vdir.get("physicalPath") if vdir else "").rstrip("\\")
        root = host.windows_path(physical) if physical else None
        if root is None or not root.is_dir():
            continue
        out[site["name"]] = sorted((str(p.relative_to(root)).replace("/", "\\")
                                    for p in [*root.glob("*"), *root.glob("*/*")] if p.is_dir()), key=str.lower)
    return out, None


# -- backup_dir ACL ---------------------------------------------------------------------------------------

def _acl_key(path: str) -> str:
    return path.replace("/", "\\").rstrip("\\").lower()


def readers(host: SimHost, path: str) -> set:
    """SIDs allowed to read ``path``: its own or its nearest recorded folder ACL, else what
    ProgramData passes down (Users included). acl.json records the ACLs the modules set."""
    acls = host.read("acl")
    parts = _acl_key(path).split("\\")
    for end in range(len(parts), 0, -1):
        entry = acls.get("\\".join(parts[:end]))
        if entry and entry.get("protected"):
            return set(entry.get("allow") or ())
    return set(INHERITED_READERS)


def _dir_access(host: SimHost, path: str) -> str:
    if not host.windows_path(path).is_dir():
        return "absent"
    entry = host.read("acl").get(_acl_key(path)) or {}
    private = entry.get("protected") and set(entry.get("allow") or ()) <= set(PRIVATE_SIDS)
    return "private" if private else "open"


def set_private_directory(host: SimHost, path: str) -> None:
    """Create the folder if needed; Administrators + SYSTEM full control, inheritance protected."""
    host.windows_path(path).mkdir(parents=True, exist_ok=True)
    acls = host.read("acl")
    acls[_acl_key(path)] = {"protected": True, "allow": list(PRIVATE_SIDS), "rights": "FullControl"}
    host.write("acl", acls)


def gather(host: SimHost, params: dict) -> dict:
    apphost_path = host.windows_path(APPHOST)
    apphost = apphost_path.read_bytes() if apphost_path.is_file() else b""
    busy = busy_check(host, params["busy_processes"], params["busy_services"])
    audit = host.windows_path(params["audit_path"])
    backup_dir = host.windows_path(params["backup_dir"])
    backups = {}
    if backup_dir.is_dir():
        for item in sorted(backup_dir.iterdir()):
            backups[f"{params['backup_dir']}\\{item.name}"] = {"sha256": _sha(item.read_bytes())}
    folders, folders_error = _site_folders(host, apphost)
    return {
        "lrm": _lrm(host),
        "apphost": {"path": APPHOST, "content": base64.b64encode(apphost).decode("ascii"), "sha256": _sha(apphost)},
        "product_type": product_type(host),
        "features": {"Web-IP-Security": _ip_security(host)},
        "site_folders": folders,
        "site_folders_error": folders_error,
        "busy": busy,
        "audit_text": audit.read_text(encoding="utf-8") if audit.is_file() else None,
        "backups": backups,
        "backup_dir_access": _dir_access(host, params["backup_dir"]),
        "boot_time": boot_state(host)["boot_time"],
    }


def probe(host: SimHost, params: dict) -> dict:
    """phase=probe: the cheap poll (no lock needed on Windows, read only): boot time and the busy check."""
    return {"boot_time": boot_state(host)["boot_time"],
            "busy": busy_check(host, params["busy_processes"], params["busy_services"])}


def apply_change(host: SimHost, change: dict) -> None:
    """One change, as the .ps1 carries it out: verified, backed up, written atomically."""
    kind = change.get("kind")
    if kind == "install_feature":
        if change["name"] != "Web-IP-Security":
            raise SimError(f"unknown feature {change['name']}")
        _ip_security(host, install=True)
    elif kind == "secure_dir":
        set_private_directory(host, change["path"])
    elif kind == "write_file":
        target = host.windows_path(change["path"])
        current = target.read_bytes()
        if _sha(current) != change["expected_sha256"]:
            raise SimError(f"{change['path']} changed since it was read; nothing written, run again")
        backup = host.windows_path(change["backup_path"])
        if not backup.exists():
            set_private_directory(host, change["backup_path"].rsplit("\\", 1)[0])
            atomic_write_bytes(backup, current)
            if _sha(backup.read_bytes()) != _sha(current):
                raise SimError("backup verification failed")
        atomic_write_bytes(target, base64.b64decode(change["content"]))
    elif kind == "write_audit":
        write_record(host, change["path"], change["content"])
    elif kind == "restart":
        # shutdown.exe /r /t <delay> /c <comment> /d p:4:1, after the busy check (SRC-LRM-5).
        schedule_restart(host, busy_check(host, change.get("busy_processes") or [], change.get("busy_services") or []),
                         int(change["delay_s"]), str(change["comment"]))
    elif kind == "restore_file":
        data = host.windows_path(change["backup_path"]).read_bytes()
        if _sha(data) != change["expected_sha256"]:
            raise SimError(f"backup {change['backup_path']} does not match its recorded hash; not restored")
        atomic_write_bytes(host.windows_path(change["path"]), data)
    else:
        raise SimError(f"unknown change kind {kind!r}")


def main():
    module = AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["phase"] == "probe":
        try:
            host = SimHost.from_env()
            with host.call("lrm_patch", "probe"):
                result = probe(host, module.params)
                host.checkpoint(0, final=True)
        except (SimError, OSError, ValueError) as error:
            module.fail_json(msg=str(error))
        module.exit_json(changed=False, probe=result)
    run_host_module(module, "lrm_patch", gather, apply_change)


if __name__ == "__main__":
    main()
