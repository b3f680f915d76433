"""Run the collection's playbooks against throw-away simulated hosts, as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys

import yaml

from ansible_collections.meddev.hardening.plugins.module_utils import winsim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
# The lab's group vars, with paths relative to the lab inventory made absolute for a copy elsewhere.
LAB_VARS = yaml.safe_load((ROOT / "inventories/lab/group_vars/lab.yml").read_text()
                          .replace("{{ inventory_dir }}/../..", str(ROOT)))


class Lab:
    """A private copy of the lab: its own inventory, host state folders and report folder."""

    def __init__(self, root: pathlib.Path, only=None):
        self.root = root
        lab_hosts = yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())["all"]["children"]["lab"]["hosts"]
        self.hosts = {name: v for name, v in lab_hosts.items() if only is None or name in only}
        group_vars = {**LAB_VARS, "winsim_state_dir": str(root / "state") + "/{{ inventory_hostname }}"}
        inventory = {"all": {"children": {"lab": {"hosts": self.hosts, "vars": group_vars}}}}
        self.inventory = root / "inventory.yml"
        self.inventory.write_text(yaml.safe_dump(inventory))
        self.reports = root / "reports"
        for name, host_vars in self.hosts.items():
            profile = host_vars["winsim_profile"]
            winsim.seed(self.state_dir(name), profile, winsim_profiles.load(profile))

    def state_dir(self, host: str) -> pathlib.Path:
        return self.root / "state" / host

    def sim(self, host: str) -> winsim.SimHost:
        return winsim.SimHost(self.state_dir(host))

    def calls(self, host: str, module: str | None = None) -> list:
        """calls.log entries of the host, optionally only those of one module."""
        return [c for c in self.sim(host).calls() if module is None or c["module"] == module]

    def fingerprint(self, host: str, include_calls: bool = True) -> dict:
        """SHA-256 of every file of the host's state: byte-identical means equal fingerprints."""
        out = {}
        for path in sorted(self.state_dir(host).rglob("*")):
            if path.is_file() and path.name != ".lock" and (include_calls or path.name != "calls.log"):
                out[str(path.relative_to(self.state_dir(host)))] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out

    def env(self) -> dict:
        """The environment every lab command runs with: this checkout's ansible.cfg, the lab's reports."""
        return {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "MEDDEV_REPORT_DIR": str(self.reports),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}:{os.environ['PATH']}"}

    def playbook_command(self, name: str, *args: str, extra: dict | None = None) -> list:
        cmd = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(ROOT / "playbooks" / name), *args]
        return [*cmd, "-e", json.dumps(extra)] if extra else cmd

    def playbook(self, name: str, *args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.playbook_command(name, *args, extra=extra), cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=600, check=False)

    def latest_report(self) -> dict:
        return json.loads((self.reports / "latest" / "report.json").read_text())

    def controls(self, host: str) -> dict:
        return {c["id"]: c for c in self.latest_report()["hosts"][host]["controls"]}
