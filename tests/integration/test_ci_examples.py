"""The CI definitions shipped for nightly drift checks are valid and do what the docs say."""

import yaml
from labkit import ROOT


def load(name):
    return yaml.safe_load((ROOT / "ci-examples" / name).read_text())


def test_github_workflow_runs_drift_on_a_schedule_and_publishes_reports():
    flow = load("github-nightly-drift.yml")
    assert flow["on"]["schedule"][0]["cron"]
    steps = flow["jobs"]["drift"]["steps"]
    run = "\n".join(s.get("run", "") for s in steps)
    assert "playbooks/drift.yml" in run and "--vault-id" in run and "secrets.MEDDEV_VAULT_PASSWORD" in str(steps)
    assert "echo $VAULT_PASSWORD" not in run
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert "reports/latest/junit.xml" in upload["with"]["path"] and "report.html" in upload["with"]["path"]
    assert upload["if"] == "always()"


def test_gitlab_job_runs_on_schedule_and_reports_junit():
    job = load("gitlab-ci.yml")["nightly-drift"]
    assert any('"schedule"' in rule["if"] for rule in job["rules"])
    assert any("playbooks/drift.yml" in line for line in job["script"])
    assert job["artifacts"]["reports"]["junit"] == "reports/latest/junit.xml"
    assert job["artifacts"]["when"] == "always"
