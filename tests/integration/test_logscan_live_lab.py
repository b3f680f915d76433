"""investigate.yml on a live LRM server: http.sys holds today's IIS log open for writing."""

import pytest

HOST = "lrm-miseq-01"
LOG = r"C:\inetpub\logs\LogFiles\W3SVC2\u_ex261120.log"
pytestmark = pytest.mark.integration


def test_a_log_held_open_by_http_sys_is_scanned(lab):
    # What winsim models (docs/winsim.md, handles.json): a reader that does not share write access
    # gets a sharing violation, as StreamReader(path) did on Windows.
    lab.sim(HOST).write("handles", {LOG: {"process": "http.sys", "access": ["Write"], "share": ["Read"]}})
    result = lab.playbook("investigate.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    host = lab.latest_report()["hosts"][HOST]
    iis = [f for f in host["findings"] if f["kind"] == "iis_log"]
    assert len(iis) == 7 and {f["client_ip"] for f in iis} == {"203.0.113.66"}
    assert all(f["file"] == LOG for f in iis)
