# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Illumina Local Run Manager security patch v1.0 as code (SRC-LRM-1 ... SRC-LRM-8). No I/O.

From what the host module gathered (LRM install, applicationHost.config bytes, IIS sites and
their folders, features, running processes, audit record, backups) this plans the edits of
applicationHost.config that the vendor patch makes: IIS refuses every non-loopback client for the
LRM site, and upload folders cannot execute content. It also plans the audit record (SRC-LRM-3),
and, for ``state=absent``, the byte-exact restore of the backed-up originals (SRC-LRM-4).
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import fnmatch
import hashlib
import json
import re

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    DEFERRED,
    DRIFT,
    FAILED,
    MANUAL,
    NOT_APPLICABLE,
    ArgumentError,
    Change,
    Control,
    Plan,
    as_bool,
    as_list,
    as_names,
    windows_path,
)
from ansible_collections.meddev.hardening.plugins.module_utils.xmlpatch import Document, Elem, XmlError

APPHOST = "C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config"
LOOPBACK = ("127.0.0.1", "::1")
DEFAULT_EXTENSIONS = (".asp", ".aspx", ".ashx", ".asmx", ".cshtml", ".exe", ".dll", ".bat", ".cmd",
                      ".ps1", ".vbs", ".js")
EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,16}\Z")
BUSY_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,128}\Z")
SITE_NAME = re.compile(r"^[^\x00-\x1f/\\\\]{1,128}\Z")
FOLDER = re.compile(r"^[A-Za-z0-9 ._-]{1,64}(/[A-Za-z0-9 ._-]{1,64}){0,3}\Z")


@dataclasses.dataclass(frozen=True)
class Desired:
    state: str
    site_name: str
    upload_folders: tuple
    upload_patterns: tuple
    blocked_extensions: tuple
    install_ip_security: bool
    force: bool
    audit_path: str
    backup_dir: str
    collection_version: str
    now: str
    prefix: str = ""
    busy_processes: tuple = ()  # an instrument run in progress defers the patch (SRC-LRM-5)
    busy_services: tuple = ()
    reboot: str = "never"  # SRC-LRM-5: never | if_required | always
    restart: dict = dataclasses.field(default_factory=dict)  # delay_s, timeout_s, poll_s (seconds)
    wait_for_idle_min: float = 0.0  # SRC-LRM-5 "apply right after the run": 0 = do not wait
    wait_poll_s: float = 60.0


def _busy_names(args: dict, option: str, variable: str) -> tuple:
    """Process or service names whose running defers the patch; they reach the host as data."""
    names = as_names(args.get(option), variable)
    for name in names:
        if not BUSY_NAME.match(name):
            raise ArgumentError(variable, f"{name!r} is not a process/service name (letters, digits, space . _ -)")
    return tuple(names)


REBOOT_CHOICES = ("never", "if_required", "always")
# Seconds: shutdown.exe /t (0-315360000, Microsoft Learn windows-commands/shutdown), how long the host may take
# to come back with a new boot time, how often it is asked; the idle poll's interval.
RESTART_DEFAULTS = {"delay_s": 15, "timeout_s": 1200, "poll_s": 10}
RESTART_LIMITS = {"delay_s": (0, 600), "timeout_s": (1, 86400), "poll_s": (0, 3600)}


def _number(value, variable: str, low: float, high: float, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(variable, f"{value!r} is not a number") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ArgumentError(variable, f"{value!r} is out of range ({low:g} to {high:g})")
    return number


def _restart_options(args: dict, var) -> tuple:
    """lrm_patch_reboot and its timings, lrm_patch_wait_for_idle and its poll interval."""
    reboot = str(args.get("reboot") or "never")
    if reboot not in REBOOT_CHOICES:
        raise ArgumentError(var("reboot"), f"{reboot!r} is not allowed; allowed: {', '.join(REBOOT_CHOICES)}")
    restart = {}
    for name, default in RESTART_DEFAULTS.items():
        low, high = RESTART_LIMITS[name]
        restart[name] = int(_number(args.get(f"reboot_{name}"), var(f"reboot_{name}"), low, high, default))
    wait = _number(args.get("wait_for_idle"), var("wait_for_idle"), 0, 24 * 60, 0.0)
    poll = _number(args.get("wait_poll_s"), var("wait_poll_s"), 0, 3600, 60.0)
    return reboot, restart, wait, poll


def validate(args: dict, prefix: str = "", now: str = "", collection_version: str = "") -> Desired:
    def var(name):
        return f"{prefix}{name}"

    state = str(args.get("state") or "present")
    if state not in ("present", "absent"):
        raise ArgumentError(var("state"), f"{state!r} is not allowed; allowed: present, absent")
    site = str(args.get("site_name") or "")
    if site and not SITE_NAME.match(site):
        raise ArgumentError(var("site_name"), f"{site!r} is not an IIS site name (1-128 characters, no / \\ "
                                              "or control characters)")
    folders = []
    for item in as_list(args.get("upload_folders"), var("upload_folders")):
        folder = str(item).strip("/").replace("\\", "/")
        if not FOLDER.match(folder) or ".." in folder.split("/"):
            raise ArgumentError(var("upload_folders"), f"{item!r} is not a folder path relative to the site "
                                                       "(letters, digits, space . _ -, up to 4 levels, no ..)")
        folders.append(folder)
    extensions = []
    for item in as_list(args.get("blocked_extensions"), var("blocked_extensions"), DEFAULT_EXTENSIONS):
        ext = str(item).lower()
        if not EXTENSION.match(ext):
            raise ArgumentError(var("blocked_extensions"), f"{item!r} is not a file extension like .asp")
        extensions.append(ext)
    patterns = tuple(p.lower() for p in as_names(args.get("upload_patterns"), var("upload_patterns"), ("*upload*",)))
    for path_var in ("audit_path", "backup_dir"):
        windows_path(args.get(path_var), var(path_var))
    busy_processes = _busy_names(args, "busy_processes", var("busy_processes"))
    busy_services = _busy_names(args, "busy_services", var("busy_services"))
    reboot, restart, wait, poll = _restart_options(args, var)
    return Desired(state, site, tuple(folders), patterns, tuple(dict.fromkeys(extensions)),
                   as_bool(args.get("install_ip_security"), var("install_ip_security")),
                   as_bool(args.get("force"), var("force")), str(args["audit_path"]), str(args["backup_dir"]),
                   collection_version, now, prefix, busy_processes, busy_services, reboot, restart, wait, poll)


# -- discovery ---------------------------------------------------------------------------------------

def expand(path: str) -> str:
    return re.sub(r"%systemdrive%", "C:", path or "", flags=re.I).rstrip("\\")


def sites(doc: Document) -> list:
    """IIS sites from applicationHost.config: name, physical path, bindings, the element."""
    found = []
    container = doc.path(("configuration", {}), ("system.applicationHost", {}), ("sites", {}))
    for site in container.children if container else []:
        if site.tag != "site":
            continue
        root_app = site.find("application", path="/")
        vdir = root_app.find("virtualDirectory", path="/") if root_app else None
        bindings = site.find("bindings")
        found.append({
            "name": site.get("name") or "", "node": site,
            "physical_path": expand(vdir.get("physicalPath") if vdir else ""),
            "bindings": [b for b in (bindings.children if bindings else []) if b.tag == "binding"],
        })
    return found


def find_site(desired: Desired, all_sites: list, install_dir: str):
    if desired.site_name:
        return next((s for s in all_sites if s["name"].lower() == desired.site_name.lower()), None)
    install = expand(install_dir).lower()
    by_path = [s for s in all_sites if install and s["physical_path"].lower().startswith(install)]
    if by_path:
        return by_path[0]
    return next((s for s in all_sites if re.search(r"local run manager|\blrm\b", s["name"], re.I)), None)


def upload_folders(desired: Desired, folders: list) -> list:
    chosen = {f.lower(): f for f in desired.upload_folders}
    for rel in folders:
        leaf = rel.replace("\\", "/").split("/")[-1].lower()
        if any(fnmatch.fnmatchcase(leaf, p) for p in desired.upload_patterns):
            chosen.setdefault(rel.lower(), rel.replace("\\", "/"))
    return sorted(chosen.values(), key=str.lower)


# -- desired config --------------------------------------------------------------------------------

def _remote_allowed(node) -> bool:
    return (node.tag == "add" and (node.get("allowed") or "false").lower() == "true"
            and (node.get("ipAddress") or "") not in LOOPBACK)


def lockdown_spec(site: str) -> Elem:
    allow = tuple(Elem("add", {"ipAddress": ip}, {"allowed": "true"}) for ip in LOOPBACK)
    return Elem("location", {"path": site}, children=(Elem("system.webServer", children=(
        Elem("security", children=(
            Elem("ipSecurity", attrs={"allowUnlisted": "false"}, remove=_remote_allowed, children=allow),)),)),))


def upload_spec(site: str, folder: str, extensions: tuple) -> Elem:
    deny = tuple(Elem("add", {"fileExtension": ext}, {"allowed": "false"}) for ext in extensions)
    return Elem("location", {"path": f"{site}/{folder}"}, children=(Elem("system.webServer", children=(
        Elem("handlers", attrs={"accessPolicy": "Read"}),
        Elem("security", children=(Elem("requestFiltering", children=(
            Elem("fileExtensions", children=deny),)),)),)),))


def _loopback_binding(info: str) -> str:
    """'*:80:host' -> '127.0.0.1:80:host' (IIS binding information is ip:port:host)."""
    match = re.match(r"^(\[[^\]]*\]|[^:]*):(\d+):(.*)$", info)
    if not match or match.group(1) in LOOPBACK or match.group(1) == "[::1]":
        return info
    return f"127.0.0.1:{match.group(2)}:{match.group(3)}"


# -- --diff in words -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LrmPlan(Plan):
    """A plan whose --diff says each change in words, control by control, then shows the file diff once."""

    words: tuple = ()  # ((heading, (line, ...)), ...)

    def diff(self, header: str):
        text = [f"{header}, change by change (host now -> after apply):\n"]
        for heading, lines in self.words:
            text.append(f"{heading}\n")
            text += [f"  {line}\n" for line in lines]
        # Ansible prints a diff's before/after as a unified diff AND its `prepared` text: keep one.
        files = [{k: v for k, v in d.items() if k != "prepared"} for d in self.file_diffs]
        return [{"prepared": "".join(text)}, *files]


def _label(spec: Elem) -> str:
    return " ".join([spec.tag, *(f'{k}="{v}"' for k, v in spec.match.items())])


def _attrs(attrs: dict) -> str:
    return " ".join(f'{k}="{v}"' for k, v in attrs.items())


def describe(parent, spec: Elem, trail: tuple = ()) -> list:
    """What merging ``spec`` under ``parent`` would change, one line per element or attribute, old -> new.

    Reads the document as it is on the host (xmlpatch keeps edits apart from the parsed tree).
    <location> and <system.webServer> are left out of the path: the caller names site and folder.
    """
    node = parent.find(spec.tag, **spec.match) if parent is not None else None
    here = trail if spec.tag in ("location", "system.webServer") else (*trail, _label(spec))
    where = "/".join(here)
    lines = []
    for name, value in spec.attrs.items():
        current = node.get(name) if node is not None else None
        if current is None or current.lower() != str(value).lower():  # IIS compares case-insensitively
            old = "not set (inherited)" if current is None else f'"{current}"'
            lines.append(f'{where} {name}: {old} -> "{value}"')
    if node is not None and spec.remove is not None:
        lines += [f"{where}/{child.tag} {_attrs(dict(child.attrs))}: present -> removed"
                  for child in node.children if spec.remove(child)]
    missing = {}  # absent leaf elements of one kind (the denied extensions), said in one line
    for child in spec.children:
        absent = node is None or node.find(child.tag, **child.match) is None
        if absent and len(child.match) == 1 and not child.children:
            ((key, value),) = child.match.items()
            missing.setdefault((child.tag, key, _attrs(child.attrs)), []).append(f'"{value}"')
        else:
            lines += describe(node, child, here)
    for (tag, key, attrs), values in missing.items():
        lines.append(f"{where}/{tag} {key}={', '.join(values)}: absent -> added" + (f" ({attrs})" if attrs else ""))
    return lines


def _change_words(desired: Desired, change: Change) -> list:
    """What one change does to ``change.control``'s setting, in words."""
    if change.kind == "install_feature":
        return ["IIS feature Web-IP-Security (IP and Domain Restrictions): not installed -> installed"]
    if change.kind == "write_audit":
        return [f"audit record {desired.audit_path}: {change.before} -> {change.after}"]
    if change.kind == "secure_dir":
        return [f"folder {desired.backup_dir}: readable by Users (inherited) -> Administrators and SYSTEM only"]
    if change.kind == "restart":
        return [f"Windows restart (shutdown.exe /r, {change.params.get('delay_s')} s delay), refused while a run is "
                f"in progress: {change.before} -> {change.after}"]
    if change.kind == "restore_file":
        return [f"applicationHost.config: patched ({change.before}) -> the original bytes from the backup "
                f"({change.after})"]
    return [f"{change.before} -> {change.after}"]


def _file_words(change: Change) -> tuple:
    params = change.params
    if change.kind == "write_file":
        return (f"File {params['path']}", (f"{change.before} -> {change.after}; the original is backed up first to "
                                           f"{params['backup_path']}",))
    return (f"File {params['path']}", (f"{change.before} -> {change.after}, restored from {params['backup_path']}",))


def _words(desired: Desired, controls, changes, specific: dict) -> tuple:
    """(heading, lines) for every control a change fixes, in the order of the changes; then the file."""
    titles = {c.id: c.title for c in controls}
    by_control, files = {}, []
    for change in changes:
        for cid in change.controls:
            # The file write carries several controls: each gets its own edits (none: nothing to say).
            lines = specific.get(cid, []) if change.kind == "write_file" else _change_words(desired, change)
            by_control.setdefault(cid, []).extend(line for line in lines if line not in by_control.get(cid, ()))
        if change.kind in ("write_file", "restore_file"):
            files.append(_file_words(change))
    return (*((f"{cid} ({titles.get(cid, cid)})", tuple(lines)) for cid, lines in by_control.items() if lines),
            *files)


def _remote_words(doc: Document, site: dict, method: str) -> list:
    name = site["name"]
    if method == "ip_security":
        return [f'site "{name}": {line}' for line in describe(doc.root, lockdown_spec(name))]
    lines = []
    for binding in site["bindings"]:
        info = binding.get("bindingInformation") or ""
        if _loopback_binding(info) != info:
            lines.append(f'site "{name}": {binding.get("protocol") or "http"} binding "{info}" -> '
                         f'"{_loopback_binding(info)}" (loopback only)')
    return lines


def _upload_words(desired: Desired, doc: Document, name: str, controls) -> dict:
    words = {}
    for control in controls:
        if control.id.startswith("LRM-UPLOAD-") and control.status == DRIFT:
            folder = control.id[len("LRM-UPLOAD-"):]
            words[control.id] = [f'site "{name}", folder "{folder}": {line}'
                                 for line in describe(doc.root, upload_spec(name, folder, desired.blocked_extensions))]
    return words


# -- plan ------------------------------------------------------------------------------------------------

def _control(cid, title, source, expected, actual, status=COMPLIANT, message=""):  # noqa: PLR0917 - mirrors Control
    return Control(cid, title, tuple(source), expected, actual, status, message)


def _apphost_path(gathered: dict) -> str:
    """The file's path as the host reports it (%SystemRoot% may not be C:\\Windows)."""
    return (gathered.get("apphost") or {}).get("path") or APPHOST


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_diff(path: str, before: bytes, after: bytes, doc: Document) -> dict:
    old, new = before[len(doc.bom):].decode(doc.encoding), after[len(doc.bom):].decode(doc.encoding)
    text = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), path, path))
    return {"before_header": path, "after_header": path, "before": old, "after": new, "prepared": text}


def plan(desired: Desired, gathered: dict) -> Plan:
    planned = _plan(desired, gathered)
    if any(c.kind == "restart" for c in planned.changes):  # the action waits for a boot time other than this
        planned.facts.update(restart_planned=True, boot_time_gathered=gathered.get("boot_time") or "")
    return planned


def _plan(desired: Desired, gathered: dict) -> Plan:
    lrm = gathered.get("lrm") or {}
    if not lrm.get("installed"):
        return Plan((_control("LRM-INSTALLED", "Local Run Manager installed", ("SRC-LRM-2",), "installed",
                              "not installed", NOT_APPLICABLE, "no Local Run Manager on this host: nothing to do"),),
                    (), facts={"lrm_installed": False})
    if desired.state == "absent":
        return _rollback(desired, gathered)
    raw = base64.b64decode((gathered.get("apphost") or {}).get("content") or "")
    try:
        doc = Document(raw)
    except XmlError as error:
        return Plan((_control("LRM-CONFIG", "applicationHost.config readable", ("SRC-LRM-1",), "valid XML",
                              "unreadable", FAILED, f"{_apphost_path(gathered)}: {error}; nothing was changed"),), ())
    all_sites = sites(doc)
    site = find_site(desired, all_sites, lrm.get("install_dir", ""))
    facts = {"lrm_installed": True, "lrm_version": lrm.get("version"), "site": site and site["name"],
             "sites": [s["name"] for s in all_sites]}
    if site is None:
        hint = f"{desired.prefix}site_name"
        return Plan((_control("LRM-SITE", "IIS site serving Local Run Manager found", ("SRC-LRM-1",), "found",
                              "not found", FAILED, f"no IIS site serves {lrm.get('install_dir')}; sites: "
                              f"{', '.join(facts['sites']) or 'none'}. Set {hint}"),), (), facts=facts)

    return _present(desired, gathered, doc, site, facts)


def _present(desired: Desired, gathered: dict, doc: Document, site: dict, facts: dict) -> Plan:
    raw, name, changes = doc.original, site["name"], []
    ip_security = bool((gathered.get("features") or {}).get("Web-IP-Security"))
    specific = {}
    if not ip_security and desired.install_ip_security:
        changes.append(Change("LRM-REMOTE-BLOCK", "install_feature", {"name": "Web-IP-Security"},
                              "Web-IP-Security absent", "Web-IP-Security installed"))
        ip_security = True
    method = "ip_security" if ip_security else "loopback_bindings"
    facts["remote_block_method"] = method
    specific["LRM-REMOTE-BLOCK"] = _remote_words(doc, site, method)
    controls = [_remote_block(doc, site, method, bool(changes))]
    controls += _uploads(desired, doc, name, (gathered.get("site_folders") or {}).get(name, []),
                         gathered.get("site_folders_error"))
    specific.update(_upload_words(desired, doc, name, controls))
    controls.append(_tls(site))
    backup_control, backup_change = _backup_access(desired, gathered)
    controls += [backup_control] if backup_control else []

    file_diffs, new_bytes = (), raw
    drifted = tuple(c.id for c in controls if c.status == DRIFT)
    if doc.changed():
        new_bytes = doc.result()
        path = _apphost_path(gathered)
        params = {"path": path, "content": base64.b64encode(new_bytes).decode("ascii"),
                  "expected_sha256": _sha(raw), "backup_path": _backup_path(desired, path)}
        changes.append(Change(drifted[0], "write_file", params, f"sha256 {_sha(raw)[:12]}",
                              f"sha256 {_sha(new_bytes)[:12]}", drifted[1:]))
        file_diffs = (_file_diff(_apphost_path(gathered), raw, new_bytes, doc),)

    audit_control, audit_change = _audit(desired, gathered, name, method, controls,
                                         raw=raw, new_bytes=new_bytes, changing=bool(changes))
    controls.append(audit_control)
    changes += [audit_change] if audit_change else []
    changes += [backup_change] if backup_change else []
    restart_control, restart_change = restart_plan(desired, gathered, changing=any(
        c.kind in RESTART_CAUSES for c in changes))
    controls.append(restart_control)
    changes += [restart_change] if restart_change else []

    busy = gathered.get("busy") or []
    if busy and not desired.force and changes:
        reason = (f"an instrument run is in progress ({', '.join(busy)}): deferred until it completes "
                  f"(SRC-LRM-5); set {desired.prefix}force to apply anyway")
        controls = [c.with_status(DEFERRED, reason) if c.status == DRIFT else c for c in controls]
        return Plan(tuple(controls), (), facts={**facts, "deferred": True, "busy": busy})
    return LrmPlan(tuple(controls), tuple(changes), file_diffs, facts={**facts, "deferred": False, "busy": busy},
                   words=_words(desired, controls, changes, specific))


def _remote_block(doc: Document, site: dict, method: str, installing: bool) -> Control:
    """Remote access (SRC-LRM-1, -7): ipSecurity where IIS honours it, or loopback-only bindings."""
    name = site["name"]
    before = _remote_state(doc, name, site, method)
    marker = doc.edit_count()
    if method == "ip_security":
        doc.merge(doc.root, lockdown_spec(name))
    else:
        for binding in site["bindings"]:
            info = binding.get("bindingInformation") or ""
            if _loopback_binding(info) != info:
                doc.set_attributes(binding, {"bindingInformation": _loopback_binding(info)})
    ok = doc.edit_count() == marker and not installing
    message = "" if method == "ip_security" else (
        "IP and Domain Restrictions (Web-IP-Security) is not installed: the site is bound to loopback only; "
        "keep the firewall role's inbound 80/443 block (SRC-LRM-9) on, or set install_ip_security")
    return _control("LRM-REMOTE-BLOCK", f"IIS site {name} refuses non-loopback clients", ("SRC-LRM-1", "SRC-LRM-7"),
                    f"remote clients refused ({method})", before, COMPLIANT if ok else DRIFT, message)


def _uploads(desired: Desired, doc: Document, name: str, site_folders: list, host_error=None) -> list:
    """Uploaded content cannot execute (SRC-LRM-1)."""
    folders = upload_folders(desired, site_folders)
    if not folders and host_error:
        # The host could not list the site's folders: say why, never "none found".
        return [_control("LRM-UPLOAD", f"Upload folders of {name} found", ("SRC-LRM-1",), "found", "unreadable",
                         FAILED, f"{host_error}; set {desired.prefix}upload_folders")]
    if not folders:
        return [_control("LRM-UPLOAD", f"Upload folders of {name} found", ("SRC-LRM-1",), "found", "none found",
                         MANUAL, f"no folder under the site matches {list(desired.upload_patterns)}; "
                         f"set {desired.prefix}upload_folders")]
    controls = []
    expected = "handlers Read only; " + " ".join(desired.blocked_extensions) + " denied"
    for folder in folders:
        marker = doc.edit_count()
        doc.merge(doc.root, upload_spec(name, folder, desired.blocked_extensions))
        grew = doc.edit_count() > marker
        controls.append(_control(f"LRM-UPLOAD-{folder}", f"Uploads in {name}/{folder} cannot execute",
                                 ("SRC-LRM-1",), expected, "scripts can run" if grew else "read only",
                                 DRIFT if grew else COMPLIANT))
    return controls


def _tls(site: dict) -> Control:
    """TLS for off-instrument communication (SRC-LRM-8): reported, not enforced."""
    https = [b for b in site["bindings"] if (b.get("protocol") or "").lower() == "https"]
    return _control("LRM-TLS", f"IIS site {site['name']} has an HTTPS binding", ("SRC-LRM-8",), "https binding",
                    "https binding" if https else "http only", COMPLIANT if https else MANUAL,
                    "" if https else "enable TLS as the LRM Software Guide describes (certificate needed)")


def _audit(desired, gathered, site, method, controls, *, raw, new_bytes, changing):
    """The audit record (SRC-LRM-3): written with every change, and when missing."""
    audit = parse_audit(gathered)
    files = audit.get("files") if isinstance(audit.get("files"), dict) else {}
    recorded = files.get(_apphost_path(gathered))
    ok = (not changing and audit.get("state") == "applied"
          and isinstance(recorded, dict) and recorded.get("after") == _sha(raw))
    control = _control("LRM-AUDIT", "Audit record of the mitigation present", ("SRC-LRM-3", "SRC-IQW-10"),
                       f"{desired.audit_path} (applied)", audit.get("state") or "absent", COMPLIANT if ok else DRIFT)
    if ok:
        return control, None
    record = _audit_record(desired, lrm=gathered.get("lrm") or {}, site=site, method=method,
                           drifted=[c for c in controls if c.status == DRIFT],
                           files={_apphost_path(gathered): {"before": _sha(raw), "after": _sha(new_bytes)}},
                           previous=audit, state="applied",
                           changed_boot=gathered.get("boot_time") if new_bytes != raw or changing else None)
    return control, Change("LRM-AUDIT", "write_audit", {"path": desired.audit_path, "content": record},
                           audit.get("state") or "absent", "applied")


def _backup_access(desired: Desired, gathered: dict):
    """backup_dir holds the full IIS configuration: Administrators and SYSTEM only (SRC-LRM-4).

    A missing folder is created private by the first backup; an existing one readable by others
    (inherited from ProgramData: Users read) is tightened.
    """
    access = gathered.get("backup_dir_access")
    if access not in ("open", "private"):
        return None, None
    control = _control("LRM-BACKUP-ACL", f"Backups in {desired.backup_dir} readable by Administrators and SYSTEM only",
                       ("SRC-LRM-4",), "Administrators + SYSTEM, not inherited",
                       "private" if access == "private" else "inherited (Users can read)",
                       COMPLIANT if access == "private" else DRIFT)
    if access == "private":
        return control, None
    return control, Change("LRM-BACKUP-ACL", "secure_dir", {"path": desired.backup_dir},
                           "inherited (Users can read)", "Administrators + SYSTEM")


def parse_audit(gathered: dict) -> dict:
    """The audit record the host holds; an unreadable one counts as absent (and is rewritten)."""
    try:
        record = json.loads(gathered.get("audit_text") or "{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _remote_state(doc: Document, name: str, site: dict, method: str) -> str:
    if method == "loopback_bindings":
        return "bindings " + ", ".join(b.get("bindingInformation") or "" for b in site["bindings"])
    node = doc.path(("configuration", {}), ("location", {"path": name}), ("system.webServer", {}),
                    ("security", {}), ("ipSecurity", {}))
    if node is None:
        return "no ipSecurity for the site: every client admitted"
    return f"ipSecurity allowUnlisted={node.get('allowUnlisted', 'true')}"


def _backup_path(desired: Desired, path: str) -> str:
    leaf = re.sub(r"[^A-Za-z0-9._-]", "_", path.rsplit("\\", maxsplit=1)[-1])
    return f"{desired.backup_dir}\\{leaf}.{hashlib.sha256(path.lower().encode()).hexdigest()[:8]}.orig"


def _audit_record(desired, *, lrm, site, method, drifted, files, previous, state, changed_boot=None) -> str:
    history = list(previous["history"]) if isinstance(previous.get("history"), list) else []
    if previous:
        history.append({k: previous.get(k) for k in ("time", "state", "files")})
    record = {
        "schema": 1, "product": "Illumina Local Run Manager", "mitigation": "LRM security patch v1.0 as code",
        "advisory": "ICSA-22-153-02", "time": desired.now, "state": state,
        "lrm_version": lrm.get("version"), "site": site, "remote_block_method": method,
        "changes": [{"control": c.id, "before": c.actual, "after": c.expected} for c in drifted],
        "files": files, "collection": f"meddev.hardening {desired.collection_version}", "history": history[-20:],
        # The boot during which the IIS configuration last changed: until the host restarts, the restart the
        # patch asks for (SRC-LRM-5) is pending.
        "changed_boot": changed_boot or previous.get("changed_boot"),
    }
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def _rollback(desired: Desired, gathered: dict) -> Plan:
    controls, changes = [], []
    raw = base64.b64decode((gathered.get("apphost") or {}).get("content") or "")
    path = _apphost_path(gathered)
    backup_path = _backup_path(desired, path)
    backup = (gathered.get("backups") or {}).get(backup_path)
    cid = "LRM-ROLLBACK"
    if not backup:
        controls.append(_control(cid, "Original IIS configuration restored", ("SRC-LRM-4",), "original bytes",
                                 "no backup: this collection never changed the file", COMPLIANT))
    elif backup["sha256"] == _sha(raw):
        controls.append(_control(cid, "Original IIS configuration restored", ("SRC-LRM-4",), "original bytes",
                                 "original bytes", COMPLIANT))
    else:
        controls.append(_control(cid, "Original IIS configuration restored", ("SRC-LRM-4",), "original bytes",
                                 f"patched (sha256 {_sha(raw)[:12]})", DRIFT))
        changes.append(Change(cid, "restore_file", {"path": path, "backup_path": backup_path,
                                                    "expected_sha256": backup["sha256"]},
                              f"sha256 {_sha(raw)[:12]}", f"sha256 {backup['sha256'][:12]}"))
    audit = parse_audit(gathered)
    if audit and audit.get("state") != "rolled_back":
        files = {path: {"before": _sha(raw), "after": backup["sha256"] if backup else _sha(raw)}}
        record = _audit_record(desired, lrm=gathered.get("lrm") or {}, site=audit.get("site"),
                               method=audit.get("remote_block_method"), drifted=[], files=files, previous=audit,
                               state="rolled_back", changed_boot=gathered.get("boot_time") if changes else None)
        controls.append(_control("LRM-AUDIT", "Audit record marks the rollback", ("SRC-LRM-3", "SRC-LRM-4"),
                                 "rolled_back", audit.get("state") or "absent", DRIFT))
        changes.append(Change("LRM-AUDIT", "write_audit", {"path": desired.audit_path, "content": record},
                              audit.get("state") or "absent", "rolled_back"))
    backup_control, backup_change = _backup_access(desired, gathered)  # the backups stay: keep them private
    controls += [backup_control] if backup_control else []
    changes += [backup_change] if backup_change else []
    restart_control, restart_change = restart_plan(desired, gathered, changing=any(
        c.kind in RESTART_CAUSES for c in changes))
    controls.append(restart_control)
    changes += [restart_change] if restart_change else []
    return LrmPlan(tuple(controls), tuple(changes), facts={"lrm_installed": True, "unprotected": True},
                   words=_words(desired, controls, changes, {}))


# -- the restart the patch asks for (SRC-LRM-5) ------------------------------------------------------------

# Changes after which the restart is pending: the IIS configuration written or restored, a feature installed.
RESTART_CAUSES = ("write_file", "restore_file", "install_feature")
RESTART_TITLE = "No restart pending after the LRM patch"


def restart_pending(gathered: dict) -> bool:
    """The IIS configuration changed during the current boot (the audit record's changed_boot)."""
    boot = gathered.get("boot_time")
    return bool(boot) and parse_audit(gathered).get("changed_boot") == boot


def restart_plan(desired: Desired, gathered: dict, changing: bool):
    """LRM-RESTART: manual with lrm_patch_reboot=never, else drift that a restart change fixes (last change)."""
    pending, boot = restart_pending(gathered), gathered.get("boot_time") or "unknown"
    needed = pending or changing
    why = ("the patch changes the IIS configuration in this run" if changing else
           f"the IIS configuration changed during the current boot (since {boot})")
    if desired.reboot == "never" or (desired.reboot == "if_required" and not needed):
        if not needed:
            return _control("LRM-RESTART", RESTART_TITLE, ("SRC-LRM-5",), "no restart pending", "none pending"), None
        return _control("LRM-RESTART", RESTART_TITLE, ("SRC-LRM-5",), "no restart pending", "restart required", MANUAL,
                        f"restart required: {why}; Illumina asks for a restart at the end of the patch. Restart "
                        f"when no run is in progress, or set {desired.prefix}reboot: if_required"), None
    actual = "restart required" if needed else "restart requested (always)"
    if not (desired.busy_processes or desired.busy_services):
        # shutdown.exe /t above 0 implies /f (running programs closed): never without a way to see a run.
        return _control("LRM-RESTART", RESTART_TITLE, ("SRC-LRM-5",), "no restart pending", actual, MANUAL,
                        f"not restarted: no run-in-progress check is declared; set {desired.prefix}busy_processes "
                        f"or {desired.prefix}busy_services for this instrument (the role README says which names "
                        "have a source), or restart by hand when no run is in progress"), None
    message = (f"{why}; restarting (lrm_patch_reboot={desired.reboot})" if needed
               else f"{desired.prefix}reboot=always: restart at the end of this run")
    change = Change("LRM-RESTART", "restart", {
        "delay_s": desired.restart["delay_s"], "comment": "meddev.hardening: restart after the Illumina LRM patch "
        "(SRC-LRM-5)", "busy_processes": list(desired.busy_processes), "busy_services": list(desired.busy_services),
    }, f"boot {boot}", "a new boot")
    return _control("LRM-RESTART", RESTART_TITLE, ("SRC-LRM-5",), "no restart pending", actual, DRIFT, message), change
