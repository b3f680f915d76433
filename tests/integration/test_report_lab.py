"""The report on the lab: HTML in real headless Chromium, JUnit, and drift since the last run."""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

HOST = "lrm-miseq-01"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.integration


def chromium(tmp_path, *args):
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is needed for the HTML report test; `make test` installs it")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", *args],
                          capture_output=True, text=True, timeout=120, check=True)


def test_html_report_renders_totals_match_and_filter_works(lab, tmp_path):
    assert lab.playbook("drift.yml").returncode != 0
    folder = (lab.reports / "latest").resolve()
    data = json.loads((folder / "report.json").read_text())
    url = (folder / "report.html").as_uri()
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", url).stdout
    for status, count in data["summary"].items():
        assert f'data-filter="{status}">{status} <b>{count}</b>' in dom
    rows = dom.count('class="ctl ')
    assert rows == sum(data["summary"].values())
    filtered = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", url + "#status=drift").stdout
    shown = filtered.count('data-status="drift"')
    assert filtered.count(" hidden\"") == rows - shown and shown == data["summary"]["drift"]
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", url)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_junit_has_a_case_per_host_and_control(lab):
    lab.playbook("drift.yml")
    folder = (lab.reports / "latest").resolve()
    data = json.loads((folder / "report.json").read_text())
    root = ET.parse(folder / "junit.xml").getroot()  # noqa: S314 - written by this run
    suite = next(s for s in root if s.get("name") == HOST)
    assert int(suite.get("tests")) == len(data["hosts"][HOST]["controls"])
    assert int(suite.get("failures")) == data["summary"]["drift"] + data["summary"]["failed"]


def test_one_changed_setting_is_named_under_drift_since_last_run(lab):
    assert lab.playbook("site.yml").returncode == 0
    assert lab.playbook("drift.yml").returncode == 0
    sim = lab.sim(HOST)
    registry = sim.read("registry")
    registry["HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"]["SMB1"] = 1
    sim.write("registry", registry)
    result = lab.playbook("drift.yml")
    assert result.returncode != 0
    since = lab.latest_report()["since_last_run"]
    assert [(i["host"], i["id"]) for i in since["newly_drifted"]] == [(HOST, "BL-SMB1-SERVER")]
    assert f"NEWLY DRIFTED {HOST}  BL-SMB1-SERVER" in result.stdout
    assert lab.latest_report()["inventory"] == [str(lab.inventory)]
