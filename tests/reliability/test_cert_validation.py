"""A run against a host whose WinRM certificate validation is off warns, in the summary and in the
report (the example inventories validate: tests/integration/test_example_inventories.py)."""

HOST = "lrm-miseq-01"


def test_validation_off_is_warned_in_the_run_summary_and_the_report(lab):
    result = lab.playbook("drift.yml", extra={"ansible_winrm_server_cert_validation": "ignore"})
    assert f"{HOST}  WinRM certificate validation is off" in result.stdout
    report = lab.latest_report()
    assert report["hosts"][HOST]["cert_validation"] is False
    html = (lab.reports / "latest" / "report.html").read_text(encoding="utf-8")
    assert "certificate validation is off for this host" in html


def test_validating_hosts_get_no_warning(lab):
    result = lab.playbook("drift.yml")
    assert "certificate validation is off" not in result.stdout
    assert lab.latest_report()["hosts"][HOST]["cert_validation"] is True
