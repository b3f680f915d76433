"""Preflight: bad input for any role on any host fails before any role touches any host.

Each case runs a playbook on a private lab and proves, over every host's state folder (calls.log
included, the winsim round-trip log), that no host was called: byte-identical before and after.
"""

import re
import subprocess

import pytest
import yaml
from labkit import BIN, ROOT, Lab

pytestmark = pytest.mark.integration
# One host per product path: LRM (lrm_patch runs), iQ-WEBX (iqwebx_licgen runs), Image Suite (neither).
HOSTS = ("lrm-miseq-01", "iqwebx-01", "cs-imagesuite-01")

# A bad value for a variable of every role, and what the message must show: the variable and the
# allowed values (ranges included).
BAD = {
    "firewall": ({"firewall_default_inbound_block": ["bogus"]},
                 "firewall_default_inbound_block", "domain, private, public"),
    "av_exclusions": ({"av_exclusions_extra": [5]}, "av_exclusions_extra", "dict"),
    "baseline": ({"baseline_password_history": 30}, "baseline_password_history", "0-24"),
    "lrm_patch": ({"lrm_patch_state": "bogus"}, "lrm_patch_state", "present, absent"),
    "iqwebx_licgen": ({"iqwebx_licgen_signature_max_age_days": 999},
                      "iqwebx_licgen_signature_max_age_days", "0-365"),
}


@pytest.fixture
def lab3(tmp_path):
    return Lab(tmp_path, only=HOSTS)


def untouched(lab, run):
    """Runs ``run`` and returns its result after asserting that no lab host was called or changed."""
    before = {h: lab.fingerprint(h) for h in lab.hosts}
    result = run()
    for host in lab.hosts:
        assert lab.fingerprint(host) == before[host], f"{host} was touched"
        assert lab.calls(host) == [], f"{host}: {lab.calls(host)}"
    return result


def output(result) -> str:
    return result.stdout + result.stderr


def set_host_vars(lab, host: str, **host_vars):
    inventory = yaml.safe_load(lab.inventory.read_text())
    inventory["all"]["children"]["lab"]["hosts"][host].update(host_vars)
    lab.inventory.write_text(yaml.safe_dump(inventory))


def plays(name: str) -> list:
    return yaml.safe_load((ROOT / "playbooks" / name).read_text())


# -- the playbooks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["site.yml", "drift.yml", "investigate.yml"])
def test_preflight_is_the_first_play_and_stops_every_host(name):
    first = plays(name)[0]
    assert first["hosts"] == "all" and first["gather_facts"] is False and first["any_errors_fatal"] is True
    assert [next(k for k in t if k.startswith("meddev.")) for t in first["tasks"]] == ["meddev.hardening.preflight"]
    # drift and investigate are reported as check-mode runs: every play of them is in check mode.
    assert first.get("check_mode", False) is (name != "site.yml")


@pytest.mark.parametrize("name", ["site.yml", "drift.yml"])
def test_preflight_checks_the_roles_of_the_playbook_with_the_same_gates(name):
    first, roles_play = plays(name)[:2]
    checked = first["tasks"][0]["meddev.hardening.preflight"]["roles"]
    expected = {}
    for entry in roles_play["roles"]:
        short = entry["role"].removeprefix("meddev.hardening.")
        expected[short] = f"{{{{ {entry['when']} }}}}" if "when" in entry else True
    assert list(checked.items()) == list(expected.items())


def test_preflight_checks_the_investigation_tasks_with_their_arguments():
    first, investigation = plays("investigate.yml")[:2]
    checked = first["tasks"][0]["meddev.hardening.preflight"]["tasks"]
    expected = [{"action": key, "args": task[key]} for task in investigation["tasks"]
                for key in task if key.startswith("meddev.hardening.")]
    assert checked == expected


# -- bad input: zero host calls on every host ------------------------------------------------------

@pytest.mark.parametrize("playbook", ["site.yml", "drift.yml"])
@pytest.mark.parametrize("role", list(BAD))
def test_bad_input_for_any_role_fails_before_any_host_call(lab3, playbook, role):
    extra, variable, allowed = BAD[role]
    result = untouched(lab3, lambda: lab3.playbook(playbook, extra=extra))
    assert result.returncode != 0
    refusal = re.search(r"bad input, refused before any host was touched: (.*)", output(result))
    assert refusal, output(result)[-3000:]
    assert f"role {role}" in refusal.group(1) and variable in refusal.group(1) and allowed in refusal.group(1)


def test_the_defect_of_issue_13_firewall_and_antivirus_no_longer_run_first(lab3):
    result = untouched(lab3, lambda: lab3.playbook("site.yml", extra={"baseline_password_history": 30}))
    assert "changed=0" in result.stdout and "changed=2" not in result.stdout
    assert "meddev.hardening.firewall" not in result.stdout  # the roles play never started


def test_every_problem_of_a_host_is_listed_at_once(lab3):
    extra = {k: v for bad in BAD.values() for k, v in bad[0].items()}
    result = untouched(lab3, lambda: lab3.playbook("site.yml", extra=extra))
    refused = {m.group(1): m.group(2) for m in re.finditer(
        r"fatal: \[([\w-]+)\]: FAILED! => (\{.*\})", result.stdout)}
    assert set(refused) == set(HOSTS)
    problems = {host: yaml.safe_load(text)["problems"] for host, text in refused.items()}
    for host, applies in {"lrm-miseq-01": "lrm_patch", "iqwebx-01": "iqwebx_licgen", "cs-imagesuite-01": None}.items():
        for role, bad in BAD.items():
            named = any(bad[1] in p for p in problems[host])
            assert named is (role not in ("lrm_patch", "iqwebx_licgen") or role == applies), (host, role)


def test_one_hosts_typo_stops_the_run_for_every_host(lab3):
    set_host_vars(lab3, "iqwebx-01", iqwebx_licgen_login_url="ftp://iqweb/login")
    result = untouched(lab3, lambda: lab3.playbook("site.yml"))
    assert result.returncode != 0 and "iqwebx_licgen_login_url" in output(result)
    assert "http(s) URL" in output(result)
    assert re.search(r"^lrm-miseq-01\s*:\s*ok=1\s+changed=0\s+unreachable=0\s+failed=0", result.stdout, re.M)


def test_check_mode_and_limit(lab3):
    result = untouched(lab3, lambda: lab3.playbook("site.yml", "--check", "-l", "lrm-miseq-01",
                                                   extra={"lrm_patch_state": "bogus"}))
    assert result.returncode != 0 and "lrm_patch_state" in output(result)
    # The role that does not run on the limited host is not checked there, as the playbook gates it.
    result = lab3.playbook("site.yml", "--check", "-l", "cs-imagesuite-01", extra={"lrm_patch_state": "bogus"})
    assert result.returncode == 0, output(result)[-3000:]
    assert lab3.calls("lrm-miseq-01") == [] and lab3.calls("cs-imagesuite-01")


def test_variable_precedence_is_ansibles(lab3):
    # Inventory outranks role defaults: a host var is checked.
    set_host_vars(lab3, "cs-imagesuite-01", baseline_lockout_reset=60, baseline_lockout_duration=30)
    result = untouched(lab3, lambda: lab3.playbook("drift.yml"))
    assert "baseline_lockout_reset" in output(result) and "1-30" in output(result)
    # Extra vars outrank inventory and role vars: the fix given on the command line is what is checked.
    fixed = lab3.playbook("site.yml", "--check", extra={"baseline_lockout_reset": 15})
    assert "refused before any host was touched" not in output(fixed), output(fixed)[-3000:]


def test_investigate_bad_since_touches_no_host(lab3):
    result = untouched(lab3, lambda: lab3.playbook("investigate.yml", extra={"investigate_since": "yesterday"}))
    assert result.returncode != 0
    assert "investigate_since" in output(result) and "2026-11-01T00:00:00Z" in output(result)


# -- good input: the preflight adds no host call ---------------------------------------------------

@pytest.mark.parametrize("name", ["drift.yml", "investigate.yml"])
def test_a_good_run_pays_the_same_round_trips_as_without_preflight(tmp_path, name):
    without = tmp_path / f"no_preflight_{name}"
    without.write_text(yaml.safe_dump(plays(name)[1:], sort_keys=False))
    calls = []
    for folder, playbook in (("with", ROOT / "playbooks" / name), ("without", without)):
        (tmp_path / folder).mkdir()
        lab = Lab(tmp_path / folder, only=HOSTS)
        command = [*lab.playbook_command(name)[:3], str(playbook)]
        result = subprocess.run(command, cwd=ROOT, env=lab.env(), capture_output=True, text=True, timeout=600,
                                check=False)
        assert "refused" not in output(result), output(result)[-3000:]
        calls.append({h: [(c["module"], c["phase"]) for c in lab.calls(h)] for h in HOSTS})
    assert calls[0] == calls[1] and all(calls[0].values())


def test_from_an_installed_collection(lab3, tmp_path):
    """The preflight finds the roles' defaults, vars and specs in an installed collection too."""
    installed = tmp_path / "installed"
    env = {**lab3.env(), "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH": str(installed)}
    env.pop("ANSIBLE_CONFIG")  # nothing from this checkout may resolve meddev.hardening
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path),
                            str(ROOT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    tarball = next(tmp_path.glob("meddev-hardening-*.tar.gz"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(installed),
                    str(tarball)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=True)
    wrapper = tmp_path / "apply.yml"
    wrapper.write_text("- name: Apply\n  ansible.builtin.import_playbook: meddev.hardening.site\n")
    command = [str(BIN / "ansible-playbook"), "-i", str(lab3.inventory), str(wrapper), "--check",
               "-e", '{"baseline_password_history": 30}']
    result = untouched(lab3, lambda: subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                                                    timeout=600, check=False))
    assert result.returncode != 0 and build.returncode == 0
    assert str(installed) in result.stdout + result.stderr  # the installed copy ran, not this checkout
    assert "role baseline: baseline_password_history: 30 is out of range; allowed: 0-24" in output(result)
