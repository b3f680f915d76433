"""`make run` on a fresh copy of the checkout: drift, apply, clean drift, report; the README shows its output."""

import json
import os
import re
import subprocess

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration
STAMP = re.compile(r"\b\d{8}T\d{6}Z(-\d+)?\b")


def readme_sample() -> list:
    """The README's sample output block (the one that starts with the first `== 1/3` line)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in text.split("```")[1::2] if b.lstrip("\n").startswith("== 1/3"))
    return block.strip("\n").splitlines()


def readme_sample_of(output: list) -> list:
    """What the README shows of `make run`'s output: the step lines, the first drift check's summary
    with its first two problems, the apply's since-last-run line and verdict, the last check's summary
    in full; '...' where lines are left out. Run folders (UTC timestamps) are kept as printed."""
    sample, steps = [], [i for i, line in enumerate(output) if line.startswith("== ")]
    for n, i in enumerate(steps):
        sample.append(output[i])
        block = output[i + 1:steps[n + 1] if n + 1 < len(steps) else len(output)]
        if not any(line.startswith("meddev.hardening ") for line in block):
            continue
        block = summary(block, "meddev.hardening ")
        if " apply report" in block[0]:
            block = [line for line in block if line.startswith(("since ", "  RESOLVED ", "GATE ", "HTML report: "))]
        problems = [line for line in block if line.startswith(("  DRIFT ", "  FAILED "))]
        block = [line for line in block if line not in problems[2:]]
        sample += ["...", *block]
    return sample


def normalised(lines: list) -> list:
    return [STAMP.sub("<stamp>", line.rstrip()) for line in lines]


def summary(output: list, title: str) -> list:
    """The summary block that starts with ``title`` and ends with its HTML report line."""
    first = next(i for i, line in enumerate(output) if line.startswith(title))
    last = next(i for i in range(first, len(output)) if output[i].startswith("HTML report: "))
    return output[first:last + 1]


def test_make_run_converges_the_lab_and_prints_what_the_readme_shows(tmp_path):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            target.write_bytes(source.read_bytes())
    (tmp_path / ".venv").symlink_to(BIN.parent)  # reuse the installed venv
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MEDDEV_", "MAKE"))}
    result = subprocess.run(["make", "run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "drift found, as expected before apply" in result.stdout
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert report["mode"] == "check"
    assert report["summary"]["failed"] == 0
    audit_only = {"cs-directview-01", "philips-mr-01"}  # vendor-locked: reported, never changed
    for name, host in report["hosts"].items():
        statuses = {c["status"] for c in host["controls"]}
        assert (name in audit_only) or "drift" not in statuses, (name, statuses)
    assert report["summary"]["compliant"] >= 100
    runs = sorted(p.name for p in (tmp_path / "reports").iterdir() if p.name != "latest")
    assert len(runs) == 3  # drift, apply, drift

    output = result.stdout.splitlines()
    assert output[-2].startswith("GATE PASSED: ") and output[-1] == f"HTML report: reports/{runs[2]}/report.html"
    verdicts = [line[:12] for line in output if line.startswith("GATE ")]
    assert verdicts == ["GATE FAILED:", "GATE PASSED:", "GATE PASSED:"]  # one per run
    assert f"the apply's report: reports/{runs[1]}/report.html ==" in result.stdout
    # One definition of fixed: the apply's since-last-run line and its table agree.
    applied = summary(output, "meddev.hardening apply report")
    fixed = int(next(line for line in applied if line.startswith("total")).split()[4])
    assert re.search(rf"^since \S+: \d+ newly drifted, {fixed} fixed, ", "\n".join(applied), re.M), applied
    # The README's sample output is this output: regenerate it from the block this message prints.
    sample = readme_sample_of(output)
    (tmp_path / "readme-sample.txt").write_text("\n".join(sample) + "\n", encoding="utf-8")
    assert normalised(readme_sample()) == normalised(sample), (
        f"README.md's sample output is not what `make run` prints; replace the block with "
        f"{tmp_path / 'readme-sample.txt'}:\n" + "\n".join(sample))
