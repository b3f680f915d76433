"""Every string that reaches the host is data: hostile values through the real roles and modules on winsim.

For every module, each option or role variable whose strings reach the host gets hostile values
(quotes, ``;``, ``$(Remove-Item C:\\ -Recurse)``, backticks, ``%SystemRoot%``, newline, CR, NUL,
unicode, 4100 characters) on copies of lab hosts, many hosts per ansible-playbook run. For every
(module, variable, value) exactly one outcome is allowed:

* literal: it arrives byte for byte in the simulated host's state (rules, exclusions, registry,
  applicationHost.config, files on C:), or the host matched exactly that string (read-only inputs);
  addresses and ports are parsed, so for them the host holds what the value denotes ("parsed");
* refused: the run fails before the host is touched (no calls.log entry, every state file
  byte-identical) with a message that names the variable.

Anything else (refused after the host was touched, a crash, a mangled value) fails the test.

To stay fast, a role's variables that usually accept the same values share one host per value
(phase 1); wherever that host does not come through, every variable gets its own host (phase 2),
so each outcome above is still judged on its own.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import yaml
from integration.labkit import ROOT, Lab

pytestmark = pytest.mark.integration

HOSTILE = {  # value id -> fragment put into a value of the variable's usual shape
    "squote": "'",
    "dquote": '"',
    "semicolon": ";",
    "subexpr": "$(Remove-Item C:\\ -Recurse)",
    "backtick": "`whoami``n",
    "envvar": "%SystemRoot%%VAR%",
    "newline": "\n",
    "cr": "\r",
    "nul": "\x00",
    "unicode": "Prüfung-検査-😀",
    "long": "L" * 4100,
}
LRM, IQW = "lrm-miseq-01", "iqwebx-02"
APPHOST = "C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config"
PD = "C:\\ProgramData\\"
DEFAULTS = {"lrm_patch_audit_path": f"{PD}meddev.hardening\\lrm_patch\\audit.json",
            "av_exclusions_owner_record": f"{PD}meddev.hardening\\defender_exclusions.json",
            "iqwebx_licgen_evidence_path": f"{PD}meddev.hardening\\iqwebx_licgen\\evidence.json"}
ARTIFACT = ROOT / "tests/fixtures/iqwebx/LicGen-2.2.0.6.bin"
# The lab finds its LicGen stand-in next to the playbook; these runs' playbooks live elsewhere.
ARTIFACTS = {"2.2.0.6": {"path": str(ARTIFACT), "sha256": hashlib.sha256(ARTIFACT.read_bytes()).hexdigest()}}
UNINSTALL_IQW = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\iQ-WEBX"
LOGIN_PAGE = "<html><title>iQ-WEB Login</title><form>hostile url matched</form></html>"
W32TIME = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"
WSUS = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate"
WEC = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager"


# -- a host copy after the run, and where each value must arrive -----------------------------------------------

@dataclasses.dataclass
class HostView:
    lab: Lab
    name: str
    entry: dict   # the host's entry in report.json
    vars: dict    # the variables the host copy ran with

    @property
    def sim(self):
        return self.lab.sim(self.name)

    def var(self, name: str) -> str:
        return self.vars.get(name, DEFAULTS.get(name))

    def file(self, win_path: str) -> pathlib.Path:
        """The path exactly as given, component by component (no case folding): literal arrival."""
        drive, _sep, rest = win_path.partition(":\\")
        return self.lab.state_dir(self.name) / "fs" / drive.upper() / pathlib.PurePosixPath(*rest.split("\\"))

    def json_file(self, win_path: str):
        return json.loads(self.file(win_path).read_text(encoding="utf-8"))

    def rules(self, name: str) -> list:
        return [r for r in self.sim.read("firewall")["rules"] if r["Name"] == name]

    def exclusions(self, kind: str) -> list:
        return self.sim.read("defender")["exclusions"][kind]

    def registry(self, key: str) -> dict:
        return next((v for k, v in self.sim.read("registry").items() if k.lower() == key.lower()), {})

    def control(self, cid: str) -> dict:
        return next(c for c in self.entry["controls"] if c["id"] == cid)


def _rule_arrived(field: str, name: str = "dicom"):
    def check(host: HostView, value: str) -> None:
        found = [r[field] for r in host.rules(name or value)]
        assert found == [value], f"{name or value}.{field} on the host: {found!r}"
    return check


def _parsed_arrived(field: str, name: str, plain: str, windows: str):
    """Addresses and ports are parsed, not copied: the host gets what the value denotes, in Windows notation."""
    def check(host: HostView, value: str) -> str:
        found = [r[field] for r in host.rules(name)]
        assert value.strip() == plain, f"accepted and sent as {found!r}"
        assert found == [[windows]]
        return "parsed"
    return check


def _group_arrived(host, value):
    assert value in {r["Group"] for r in host.sim.read("firewall")["rules"]}


def _apphost(host: HostView) -> ET.Element:
    return ET.fromstring(host.sim.windows_path(APPHOST).read_bytes())  # noqa: S314 - the lab's file, patched


def _site_arrived(host, value):
    assert value in [loc.get("path") for loc in _apphost(host).iter("location")], "no <location> for the site"
    assert host.json_file(host.var("lrm_patch_audit_path"))["site"] == value


def _upload_arrived(host, value):
    assert f"LRM/{value}" in [loc.get("path") for loc in _apphost(host).iter("location")]


def _extension_arrived(host, value):
    assert value in [add.get("fileExtension") for add in _apphost(host).iter("add")]


def _deferred_by(host, value):
    deferred = [c for c in host.entry["controls"] if c["status"] == "deferred"]
    assert deferred and all(value in c["message"] for c in deferred), "the host did not match the literal name"


def _audit_arrived(host, value):
    assert host.json_file(value)["state"] == "applied"


def _backup_arrived(host, value):
    original = host.lab.sim(LRM).windows_path(APPHOST).read_bytes()  # the base host, never run
    site = host.vars.get("lrm_patch_site_name")
    before = _with_site(original, site) if site else original  # as seeded for this host
    assert [p.read_bytes() for p in host.file(value).glob("*.orig")] == [before]


def _exclusion_arrived(kind: str, suffix: str = ""):
    def check(host: HostView, value: str) -> None:
        assert value + suffix in host.exclusions(kind), f"{kind} exclusions: {host.exclusions(kind)!r}"
        owned = host.json_file(host.var("av_exclusions_owner_record"))["exclusions"]
        assert {"kind": kind, "value": value + suffix} in owned
    return check


def _record_arrived(host, value):
    owned = host.json_file(value)["exclusions"]
    # The exclusions the shared host takes (av(): iQ-WEBX's LicGen.exe, Carestream's folder) are recorded as ours
    # in the file at the hostile path.
    assert any(e["kind"] == "path" and e["value"].endswith("\\PACS\\php\\LicGen.exe") for e in owned), owned


def _install_dir_arrived(host, value):
    licgen = f"{value}\\PACS\\php\\LicGen.exe"
    assert host.file(licgen).read_bytes() == ARTIFACT.read_bytes()
    assert licgen in host.exclusions("path")
    assert host.json_file(host.var("iqwebx_licgen_evidence_path"))["install_dir"] == value


def _login_matched(host, value):
    assert host.control("IQW-LOGIN")["actual"] == f"HTTP 200 with {len(LOGIN_PAGE)} bytes"


def _evidence_arrived(host, value):
    assert "notice" in host.json_file(value)


def _findings_under(prefix: Callable[[str], str]):
    def check(host: HostView, value: str) -> None:
        files = {f["file"] for f in host.entry["findings"]}
        assert files and all(f.startswith(prefix(value)) for f in files), f"findings in {sorted(files)!r}"
    return check


def _no_literal_form(host, value):
    raise AssertionError("accepted, but a value of this shape has no literal form on the host")


def _registry_arrived(key: str, name: str, expected: Callable[[str], str] = lambda v: v):
    def check(host: HostView, value: str) -> None:
        assert host.registry(key).get(name) == expected(value), f"{name} = {host.registry(key).get(name)!r}"
    return check


def _wsus_arrived(host, value):
    _registry_arrived(WSUS, "WUServer")(host, value)
    _registry_arrived(WSUS, "WUStatusServer")(host, value)


def _service_disabled(host, value):
    assert host.sim.read("services")[value] == {"Status": "Stopped", "StartType": "Disabled"}


# -- preparing a host copy so that a value has something to meet ----------------------------------------------

def _with_site(apphost: bytes, name: str) -> bytes:
    """applicationHost.config with the LRM site renamed (an XML attribute cannot carry control characters:
    such a name stays unused, and must be refused anyway)."""
    if any(ord(c) < 32 for c in name):
        return apphost
    quoted = name.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return apphost.replace(b'<site name="LRM"', f'<site name="{quoted}"'.encode())


def _rename_lrm_site(sim, value):
    path = sim.windows_path(APPHOST)
    path.write_bytes(_with_site(path.read_bytes(), value))


def _running_process(sim, value):
    sim.write("processes", {"running": [*sim.read("processes").get("running", []), value]})


def _service(sim, value):
    sim.write("services", {**sim.read("services"), value: {"Status": "Running", "StartType": "Automatic"}})


def _iqwebx_elsewhere(sim, value):
    """The uninstall entry names no folder, so iqwebx_licgen_install_dir decides where LicGen.exe goes."""
    registry = sim.read("registry")
    registry[UNINSTALL_IQW].pop("InstallLocation")
    sim.write("registry", registry)
    web = sim.read("web")
    web["http://localhost/iqweb/login"]["requires"] = f"{value}\\PACS\\php\\LicGen.exe"
    sim.write("web", web)


def _login_page(sim, value):
    sim.write("web", {**sim.read("web"), value: {"status": 200, "body": LOGIN_PAGE}})


def _copy_logs(target: Callable[[str], str]):
    def seed(sim, value):
        try:
            shutil.copytree(sim.windows_path("C:\\inetpub\\logs\\LogFiles\\W3SVC2"),
                            sim.state_dir / "fs" / "C" / pathlib.PurePosixPath(*target(value).split("\\")[1:]))
        except (OSError, ValueError):
            pass  # no such folder can exist (NUL, too long): the value must be refused
    return seed


# -- the table: module, variable, value shape, where it must arrive ---------------------------------------------

@dataclasses.dataclass(frozen=True)
class Case:
    run: str                                   # the ansible-playbook run that carries it
    module: str                                # the host module the value goes to
    variable: str                              # what a refusal must name
    base: str                                  # the lab host each value gets a copy of
    value: Callable[[str], str]                # hostile fragment -> value of the usual shape
    host_vars: Callable[[str], dict]           # value -> variables of the host copy
    arrived: Callable[[HostView, str], str | None]  # asserts the value is on the host ("literal" unless named)
    seed: Callable | None = None               # prepares the host copy (a site, a service, a page to meet)
    check_mode: bool = False                   # read-only input: the gather shows what the host matched
    kind: str = ""                             # tells apart two uses of one variable
    share: bool = False                        # phase 1: on one host per value with the run's other sharers

    @property
    def id(self) -> str:
        return f"{self.module}/{self.variable}" + (f"({self.kind})" if self.kind else "")

    def host(self, value_id: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.id.lower()).strip("-") + "-" + value_id


def dicom(**override) -> dict:
    return {"firewall_rules": [{"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"],
                                **override}]}


def av(**variables) -> dict:
    """One host takes every product's exclusions, so the av_exclusions variables can share it."""
    return {"meddev_products": ["illumina_lrm", "iqwebx", "carestream_imagesuite"], **variables}


def iqw(**variables) -> dict:
    """iqwebx_licgen variables with the LicGen stand-in found from here, not next to the playbook."""
    return {"iqwebx_licgen_artifacts": ARTIFACTS, **variables}


def extra(kind: str, value: str) -> dict:
    return av(av_exclusions_extra=[{"kind": kind, "value": value, "source": ["SRC-CS-5"]}])


CASES = [
    # firewall role -> firewall_policy: rule names, descriptions, addresses, ports, the owned group
    Case("firewall", "firewall_policy", "firewall_rules[0].name", LRM, lambda f: f"dicom{f}",
         lambda v: dicom(name=v), _rule_arrived("Name", name="")),
    Case("firewall", "firewall_policy", "firewall_rules[0].description", LRM, lambda f: f"DICOM from modalities{f}",
         lambda v: dicom(description=v), _rule_arrived("Description")),
    Case("firewall", "firewall_policy", "firewall_rules[0].remote_addresses", LRM, lambda f: f"10.20.30.0/24{f}",
         lambda v: dicom(remote_addresses=[v]),
         _parsed_arrived("RemoteAddress", "dicom", "10.20.30.0/24", "10.20.30.0/255.255.255.0")),
    Case("firewall", "firewall_policy", "firewall_rules[0].local_ports", LRM, lambda f: f"104{f}",
         lambda v: dicom(local_ports=[v]), _parsed_arrived("LocalPort", "dicom", "104", "104")),
    Case("firewall", "firewall_policy", "firewall_rule_group", LRM, lambda f: f"meddev.hardening{f}",
         lambda v: {"firewall_rule_group": v}, _group_arrived),
    Case("firewall", "firewall_policy", "firewall_management_networks", LRM, lambda f: f"10.10.0.0/24{f}",
         lambda v: {"firewall_management_networks": [v]},
         _parsed_arrived("RemoteAddress", "mgmt-winrm", "10.10.0.0/24", "10.10.0.0/255.255.255.0")),
    # lrm_patch role: the site, upload folders and extensions, run detection, audit and backup paths
    Case("lrm_patch", "lrm_patch", "lrm_patch_site_name", LRM, lambda f: f"LRM{f}",
         lambda v: {"lrm_patch_site_name": v}, _site_arrived, seed=_rename_lrm_site, share=True),
    Case("lrm_patch", "lrm_patch", "lrm_patch_upload_folders", LRM, lambda f: f"Uploads{f}",
         lambda v: {"lrm_patch_upload_folders": [v]}, _upload_arrived),
    Case("lrm_patch", "lrm_patch", "lrm_patch_blocked_extensions", LRM, lambda f: f".asp{f}",
         lambda v: {"lrm_patch_blocked_extensions": [v]}, _extension_arrived),
    Case("lrm_patch", "lrm_patch", "lrm_patch_busy_processes", LRM, lambda f: f"RTA{f}",
         lambda v: {"lrm_patch_busy_processes": [v]}, _deferred_by, seed=_running_process, check_mode=True),
    Case("lrm_patch", "lrm_patch", "lrm_patch_busy_services", LRM, lambda f: f"LRM Job Service{f}",
         lambda v: {"lrm_patch_busy_services": [v]}, _deferred_by, seed=_service, check_mode=True),
    Case("lrm_patch", "lrm_patch", "lrm_patch_audit_path", LRM, lambda f: f"{PD}lrm{f}\\audit.json",
         lambda v: {"lrm_patch_audit_path": v}, _audit_arrived, share=True),
    Case("lrm_patch", "lrm_patch", "lrm_patch_backup_dir", LRM, lambda f: f"{PD}backups{f}",
         lambda v: {"lrm_patch_backup_dir": v}, _backup_arrived, share=True),
    # av_exclusions role -> defender_exclusion: every source of an exclusion value, the ownership record
    Case("av_exclusions", "defender_exclusion", "av_exclusions_iqwebx_install_dir", LRM,
         lambda f: f"C:\\Program Files\\iQ-WEBX{f}", lambda v: av(av_exclusions_iqwebx_install_dir=v),
         _exclusion_arrived("path", "\\PACS\\php\\LicGen.exe"), share=True),
    Case("av_exclusions", "defender_exclusion", "av_exclusions_carestream[0].value", LRM, lambda f: f"D:\\CSImages{f}",
         lambda v: av(av_exclusions_carestream=[{"kind": "path", "value": v}]), _exclusion_arrived("path"),
         share=True),
    Case("av_exclusions", "defender_exclusion", "av_exclusions_extra[0].value", LRM, lambda f: f"CSImage{f}.exe",
         lambda v: extra("process", v), _exclusion_arrived("process"), kind="process", share=True),
    Case("av_exclusions", "defender_exclusion", "av_exclusions_extra[0].value", LRM, lambda f: f".dcm{f}",
         lambda v: extra("extension", v), _exclusion_arrived("extension"), kind="extension"),
    Case("av_exclusions", "defender_exclusion", "av_exclusions_owner_record", LRM, lambda f: f"{PD}av{f}\\owned.json",
         lambda v: av(av_exclusions_owner_record=v), _record_arrived, share=True),
    # iqwebx_licgen role: where LicGen.exe goes, the login page asked for, the evidence file
    Case("iqwebx_licgen", "iqwebx_licgen", "iqwebx_licgen_install_dir", IQW,
         lambda f: f"C:\\Program Files\\iQ-WEBX{f}", lambda v: iqw(iqwebx_licgen_install_dir=v),
         _install_dir_arrived, seed=_iqwebx_elsewhere, share=True),
    Case("iqwebx_licgen", "iqwebx_licgen", "iqwebx_licgen_login_url", IQW,
         lambda f: f"http://localhost/iqweb/login?site={f}", lambda v: iqw(iqwebx_licgen_login_url=v),
         _login_matched, seed=_login_page, check_mode=True),
    Case("iqwebx_licgen", "iqwebx_licgen", "iqwebx_licgen_evidence_path", IQW,
         lambda f: f"{PD}iqw{f}\\evidence.json", lambda v: iqw(iqwebx_licgen_evidence_path=v), _evidence_arrived,
         share=True),
    # investigate.yml's modules (read only): log folders, site folder pattern, time filter
    Case("investigate", "iis_log_scan", "log_roots", LRM, lambda f: f"C:\\inetpub\\logs{f}",
         lambda v: {"hostile_module": "iis_log_scan", "hostile_log_roots": [v]},
         _findings_under(lambda v: f"{v}\\W3SVC2\\"), seed=_copy_logs(lambda v: f"{v}\\W3SVC2"), check_mode=True),
    Case("investigate", "iis_log_scan", "site_pattern", LRM, lambda f: f"W3SVC{f}",
         lambda v: {"hostile_module": "iis_log_scan", "hostile_site_pattern": v},
         _findings_under(lambda v: f"C:\\inetpub\\logs\\LogFiles\\{v}\\"),
         seed=_copy_logs(lambda v: f"C:\\inetpub\\logs\\LogFiles\\{v}"), check_mode=True),
    Case("investigate", "iis_log_scan", "since", LRM, lambda f: f"2026-11-01T00:00:00Z{f}",
         lambda v: {"hostile_module": "iis_log_scan", "hostile_since": v}, _no_literal_form, check_mode=True),
    Case("investigate", "host_evidence", "since", LRM, lambda f: f"2026-11-01T00:00:00Z{f}",
         lambda v: {"hostile_module": "host_evidence", "hostile_since": v}, _no_literal_form, check_mode=True),
    # baseline role: NTP, WSUS and event collector strings, service names, audit settings
    Case("baseline", "baseline", "baseline_ntp_servers", LRM, lambda f: f"ntp{f}.hospital.example",
         lambda v: {"baseline_ntp_servers": [v]}, _registry_arrived(W32TIME, "NtpServer", lambda v: f"{v},0x8"),
         share=True),
    Case("baseline", "baseline", "baseline_wsus_server", LRM, lambda f: f"https://wsus.hospital.example:8531/{f}",
         lambda v: {"baseline_wsus_server": v}, _wsus_arrived, share=True),
    Case("baseline", "baseline", "baseline_event_collector", LRM, lambda f: f"wec{f}.hospital.example",
         lambda v: {"baseline_event_collector": v},
         _registry_arrived(WEC, "1", lambda v: f"Server=http://{v}:5985/wsman/SubscriptionManager/WEC,Refresh=60"),
         share=True),
    Case("baseline", "baseline", "baseline_disabled_services", LRM, lambda f: f"Svc{f}",
         lambda v: {"baseline_disabled_services": [v]}, _service_disabled, seed=_service, share=True),
    Case("baseline", "baseline", "baseline_audit_logon", LRM, lambda f: f"success{f}",
         lambda v: {"baseline_audit_logon": v}, _no_literal_form),
]
CASE_BY_ID = {c.id: c for c in CASES}
RUNS = sorted({c.run for c in CASES})
ROLES = {"firewall", "lrm_patch", "av_exclusions", "iqwebx_licgen", "baseline"}
INVESTIGATE_TASKS = [
    {"name": "Scan the IIS logs", "when": "hostile_module == 'iis_log_scan'",
     "meddev.hardening.iis_log_scan": {"log_roots": "{{ hostile_log_roots | default(omit) }}",
                                       "site_pattern": "{{ hostile_site_pattern | default(omit) }}",
                                       "since": "{{ hostile_since | default(omit) }}"}},
    {"name": "Collect the evidence", "when": "hostile_module == 'host_evidence'",
     "meddev.hardening.host_evidence": {"since": "{{ hostile_since | default(omit) }}"}},
]


# -- ansible-playbook runs: one or two per role or playbook, shared by its tests (and by xdist workers) -------

def _lab_view(root: pathlib.Path) -> Lab:
    """A Lab over a copy that is already seeded (Lab() would seed it again)."""
    lab = Lab.__new__(Lab)
    lab.root, lab.reports, lab.inventory = root, root / "reports", root / "inventory.yml"
    return lab


def _came_through(entry: dict | None) -> bool:
    return bool(entry) and not entry["errors"] and all(c["status"] != "failed" for c in entry["controls"])


def _play(lab: Lab, run: str, hosts: dict, phase: str) -> dict:
    """Run the role (or investigate's modules) on host copies {name: (case ids, value id)}; returns what
    the test needs to judge each host: its vars, fingerprint before the run, and the run's report."""
    groups, out = {"hostile_apply": {}, "hostile_check": {}}, {}
    for name, (case_ids, value_id) in hosts.items():
        cases = [CASE_BY_ID[i] for i in case_ids]
        shutil.copytree(lab.state_dir(cases[0].base), lab.state_dir(name))
        host_vars = {}
        for case in cases:
            value = case.value(HOSTILE[value_id])
            host_vars.update(case.host_vars(value))
            if case.seed:
                case.seed(lab.sim(name), value)
        group = "hostile_check" if cases[0].check_mode else "hostile_apply"
        groups[group][name] = {**lab.hosts[cases[0].base], **host_vars}
        out[name] = {"cases": case_ids, "value": value_id, "vars": host_vars, "before": lab.fingerprint(name)}
    inventory = yaml.safe_load(lab.inventory.read_text())
    inventory["all"]["children"]["lab"]["hosts"] = {}
    inventory["all"]["children"]["lab"]["children"] = {g: {"hosts": h} for g, h in groups.items() if h}
    lab.inventory.write_text(yaml.safe_dump(inventory, width=1 << 20))
    body = {"roles": [f"meddev.hardening.{run}"]} if run in ROLES else {"tasks": INVESTIGATE_TASKS}
    plays = [{"name": f"hostile values, {phase} ({group})", "hosts": group, "gather_facts": False,
              "check_mode": group == "hostile_check", **body} for group, h in groups.items() if h]
    playbook = lab.root / f"hostile-{phase}.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    result = lab.playbook(str(playbook))
    report_dir = (lab.reports / "latest").resolve()
    report = json.loads((report_dir / "report.json").read_text()) if report_dir.is_dir() else {"hosts": {}}
    for name, host in out.items():
        host.update(entry=report["hosts"].get(name), report=str(report_dir), phase=phase)
    (lab.root / f"hostile-{phase}.out").write_text(result.stdout + result.stderr)
    return out


def _execute(root: pathlib.Path, run: str) -> dict:
    """Phase 1: sharers on one host per value, the rest on their own. Phase 2: every sharer on its own
    host for each value whose shared host did not come through."""
    cases = [c for c in CASES if c.run == run]
    lab = Lab(root, only={c.base for c in cases})
    first = {}
    for value_id in HOSTILE:
        for base in sorted({c.base for c in cases if c.share}):  # sharers share a base host
            first[f"{run}-shared-{base}-{value_id}"] = ([c.id for c in cases if c.share and c.base == base], value_id)
        first.update({c.host(value_id): ([c.id], value_id) for c in cases if not c.share})
    hosts = _play(lab, run, first, "phase1")
    second = {CASE_BY_ID[i].host(h["value"]): ([i], h["value"]) for h in hosts.values()
              if len(h["cases"]) > 1 and not _came_through(h["entry"]) for i in h["cases"]}
    if second:
        hosts.update(_play(lab, run, second, "phase2"))
    judged = {}  # case id -> value id -> host that judges it
    for name, host in hosts.items():
        if len(host["cases"]) == 1 or _came_through(host["entry"]):
            for case_id in host["cases"]:
                judged.setdefault(case_id, {})[host["value"]] = name
    return {"hosts": hosts, "judged": judged}


@pytest.fixture(scope="session")
def hostile_runs(tmp_path_factory):
    """run name -> its outcome data; each run executes once per session, even across xdist workers."""
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    shared = tmp_path_factory.getbasetemp().parent / f"hostile-{uid}" if uid else tmp_path_factory.mktemp("hostile")
    shared.mkdir(exist_ok=True)
    runs = {}

    def get(run: str) -> dict:
        if run not in runs:
            root = shared / run
            with open(shared / f"{run}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (root / "outcome.json").is_file():
                    shutil.rmtree(root, ignore_errors=True)
                    root.mkdir()
                    (root / "outcome.json").write_text(json.dumps(_execute(root, run)))
            runs[run] = {**json.loads((root / "outcome.json").read_text()), "lab": _lab_view(root)}
        return runs[run]
    return get


def outcome(run: dict, case: Case, value_id: str) -> str:
    """'refused', 'literal' or 'parsed'; AssertionError for anything else."""
    name = run["judged"].get(case.id, {}).get(value_id)
    assert name, "no host judged this value"
    data = run["hosts"][name]
    host = HostView(run["lab"], name, data["entry"] or {}, data["vars"])
    output = (host.lab.root / f"hostile-{data['phase']}.out").read_text()[-3000:]
    assert host.entry, f"no result for {name} in the report:\n{output}"
    if host.entry["errors"] and not host.entry["controls"]:
        calls = host.lab.calls(name)
        assert not calls, f"refused only after {len(calls)} host call(s): {host.entry['errors']}"
        assert host.lab.fingerprint(name) == data["before"], "refused, but the host's state changed"
        assert case.variable in " ".join(host.entry["errors"]), \
            f"the refusal does not name {case.variable}: {host.entry['errors']}"
        return "refused"
    failed = [c for c in host.entry["controls"] if c["status"] == "failed"]
    assert not host.entry["errors"] and not failed, f"accepted, then failed: {host.entry['errors'] or failed}"
    return case.arrived(host, case.value(HOSTILE[value_id])) or "literal"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_value_arrives_literally_or_is_refused_before_the_host(case, hostile_runs):
    run = hostile_runs(case.run)
    problems = []
    for value_id in HOSTILE:
        try:
            outcome(run, case, value_id)
        except AssertionError as error:
            problems.append(f"{value_id}: {str(error)[:600]}")
    assert not problems, f"{case.id}:\n" + "\n".join(problems)


@pytest.mark.parametrize("run", RUNS)
def test_report_of_a_hostile_run_stays_readable(run, hostile_runs):
    """The report is evidence: hostile values (and the errors quoting them) must not break any of its files."""
    hosts = hostile_runs(run)["hosts"]
    for folder in {pathlib.Path(h["report"]) for h in hosts.values()}:
        names = {n for n, h in hosts.items() if h["report"] == str(folder)}
        assert set(json.loads((folder / "report.json").read_text(encoding="utf-8"))["hosts"]) == names
        suites = ET.fromstring((folder / "junit.xml").read_bytes())  # noqa: S314 - written by this run
        assert {s.get("name") for s in suites.iter("testsuite")} == names
        html = (folder / "report.html").read_text(encoding="utf-8")
        assert all(name in html for name in names)
