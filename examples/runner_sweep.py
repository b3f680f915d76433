"""Drift over every customer with ansible-runner: one run and one report folder per customer.

Usage (from a clone, venv active, ansible-runner installed):
    python examples/runner_sweep.py inventories/example_distributor --vault-dir /secure/vault-passwords
Each customer's vault password is read from <vault-dir>/<customer>.txt and used only for its run.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import ansible_runner

ROOT = pathlib.Path(__file__).resolve().parents[1]


def customers(inventory: str) -> list:
    tool = pathlib.Path(sys.executable).with_name("ansible-inventory")
    listing = subprocess.run([str(tool), "-i", inventory, "--list"],  # noqa: S603 - fixed argv, no shell
                             capture_output=True, text=True, check=True)
    return sorted(g.removeprefix("customer_") for g in json.loads(listing.stdout) if g.startswith("customer_"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("inventory")
    parser.add_argument("--vault-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()
    worst = 0
    for customer in customers(args.inventory):
        run = ansible_runner.run(
            private_data_dir=str(ROOT / "build" / "runner" / customer), project_dir=str(ROOT),
            playbook="playbooks/drift.yml", inventory=str(ROOT / args.inventory), limit=f"customer_{customer}",
            cmdline=f"--vault-id {customer}@{args.vault_dir / (customer + '.txt')}",
            envvars={"MEDDEV_REPORT_DIR": str(ROOT / "reports" / customer),
                     "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
            quiet=True)
        print(f"{customer}: {run.status} (rc {run.rc}) -> reports/{customer}/latest/report.html")
        worst = max(worst, run.rc)
    return worst


if __name__ == "__main__":
    sys.exit(main())
