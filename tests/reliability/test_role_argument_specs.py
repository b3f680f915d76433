"""Bad role variables are refused before the host is touched, naming the variable.

One ansible-playbook run plays every case against a private copy of the lab's LRM instrument PC
(fixture ``lab``): each case includes the real role with bad variables inside block/rescue and
records the error message. Wrong types, out-of-range values, hostile strings and unknown keys in
dictionary-valued variables must all fail - in the role's meta/argument_specs.yml or in the
action plugin's validation - with a message that names the variable, and the host must not have
been contacted at all (no call in calls.log, every state file byte-identical).
"""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.integration

HOST = "lrm-miseq-01"
SHA = "492c7a0446b554f6edc4987564e3f41041eaeacf394498331f566d96833c70c4"
DICOM = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"]}

# id: (role, variables, fragments the error message must contain - the variable first)
CASES = {
    # firewall: unknown keys, wrong types, out of range, lockout
    "fw-rule-typo": ("firewall", {"firewall_rules": [{**DICOM, "lcoal_ports": ["104"]}]},
                     ["firewall_rules", "lcoal_ports"]),
    "fw-rule-case-typo": ("firewall", {"firewall_rules": [{**DICOM, "Action": "block"}]}, ["firewall_rules", "Action"]),
    "fw-rules-not-a-list": ("firewall", {"firewall_rules": "dicom"}, ["firewall_rules"]),
    "fw-rule-without-name": ("firewall", {"firewall_rules": [{"local_ports": ["104"], "remote_addresses": ["Any"]}]},
                             ["firewall_rules", "name"]),
    "fw-rule-name-newline": ("firewall", {"firewall_rules": [{**DICOM, "name": "dicom\n"}]},
                             ["firewall_rules[0].name"]),
    "fw-rule-port-zero": ("firewall", {"firewall_rules": [{**DICOM, "local_ports": ["0"]}]},
                          ["firewall_rules[0].local_ports", "1-65535"]),
    "fw-rule-port-huge": ("firewall", {"firewall_rules": [{**DICOM, "local_ports": ["9" * 30]}]},
                          ["firewall_rules[0].local_ports", "1-65535"]),
    "fw-rule-enabled-junk": ("firewall", {"firewall_rules": [{**DICOM, "enabled": "maybe"}]},
                             ["firewall_rules", "enabled"]),
    "fw-block-winrm": ("firewall", {"firewall_rules": [{"name": "x", "action": "block", "local_ports": ["5985"]}]},
                       ["firewall_rules[0]", "lock out"]),
    "fw-state": ("firewall", {"firewall_state": "gone"}, ["firewall_state", "present, absent"]),
    "fw-profiles": ("firewall", {"firewall_profiles_enabled": ["all"]}, ["firewall_profiles_enabled"]),
    "fw-mgmt-ports-type": ("firewall", {"firewall_management_ports": ["http"]}, ["firewall_management_ports"]),
    "fw-mgmt-ports-range": ("firewall", {"firewall_management_ports": [70000]},
                            ["firewall_management_ports", "1-65535"]),
    "fw-mgmt-network": ("firewall", {"firewall_management_networks": ["10.0.0.0/33"]},
                        ["firewall_management_networks", "CIDR"]),
    "fw-default-block-alone": ("firewall", {"firewall_default_inbound_block": ["public"],
                                            "firewall_management_networks": []}, ["firewall_management_networks"]),
    "fw-exclusive-junk": ("firewall", {"firewall_exclusive": "maybe"}, ["firewall_exclusive"]),
    "fw-group": ("firewall", {"firewall_rule_group": "a group"}, ["firewall_rule_group"]),
    "products": ("firewall", {"meddev_products": ["illumina_lrmm"]}, ["meddev_products", "illumina_lrm"]),
    "enforce": ("firewall", {"meddev_enforce": "maybe"}, ["meddev_enforce"]),
    # baseline: ranges of SRC-PMR-7/8, types, services WinRM needs
    "bl-history-range": ("baseline", {"baseline_password_history": 25}, ["baseline_password_history", "0-24"]),
    "bl-history-type": ("baseline", {"baseline_password_history": "many"}, ["baseline_password_history"]),
    "bl-threshold-negative": ("baseline", {"baseline_lockout_threshold": -1}, ["baseline_lockout_threshold", "0-999"]),
    "bl-idle-huge": ("baseline", {"baseline_idle_lock_minutes": 10**20}, ["baseline_idle_lock_minutes", "1-999"]),
    "bl-max-age-float": ("baseline", {"baseline_password_max_age": 1.5}, ["baseline_password_max_age"]),
    "bl-reset-over-duration": ("baseline", {"baseline_lockout_reset": 60, "baseline_lockout_duration": 30},
                               ["baseline_lockout_reset", "1-30"]),
    "bl-rdp": ("baseline", {"baseline_rdp": "off"}, ["baseline_rdp"]),
    "bl-audit-dict": ("baseline", {"baseline_audit_logon": {"a": 1}}, ["baseline_audit_logon"]),
    "bl-removable-junk": ("baseline", {"baseline_removable_write_deny": "maybe"}, ["baseline_removable_write_deny"]),
    "bl-winrm": ("baseline", {"baseline_disabled_services": ["WinRM"]},
                 ["baseline_disabled_services", "never be disabled"]),
    "bl-http": ("baseline", {"baseline_disabled_services": ["HTTP"]},
                ["baseline_disabled_services", "never be disabled"]),
    "bl-protected-dict": ("baseline", {"baseline_protected_services": [{"a": 1}]}, ["baseline_protected_services"]),
    "bl-wsus-newline": ("baseline", {"baseline_wsus_server": "https://wsus\n"}, ["baseline_wsus_server"]),
    # av_exclusions: unknown keys inside the dictionaries, choices
    "av-extra-typo": ("av_exclusions", {"av_exclusions_extra": [{"kind": "path", "value": "C:\\x",
                                                                 "source": ["SRC-CS-5"], "sorce": "x"}]},
                      ["av_exclusions_extra", "sorce"]),
    "av-carestream-typo": ("av_exclusions", {"av_exclusions_carestream": [{"kind": "path", "valeu": "D:\\x"}]},
                           ["av_exclusions_carestream", "valeu"]),
    "av-extra-kind": ("av_exclusions", {"av_exclusions_extra": [{"kind": "file", "value": "C:\\x",
                                                                 "source": ["SRC-CS-5"]}]},
                      ["av_exclusions_extra", "kind"]),
    "av-extra-no-source": ("av_exclusions", {"av_exclusions_extra": [{"kind": "path", "value": "C:\\x"}]},
                           ["av_exclusions_extra", "source"]),
    "av-state": ("av_exclusions", {"av_exclusions_state": "gone"}, ["av_exclusions_state"]),
    "av-record": ("av_exclusions", {"av_exclusions_owner_record": "owned.json"}, ["av_exclusions_owner_record"]),
    # lrm_patch: types that the argument spec converts but the module must still refuse cleanly
    "lrm-force-junk": ("lrm_patch", {"lrm_patch_force": "maybe"}, ["lrm_patch_force"]),
    "lrm-extensions-int": ("lrm_patch", {"lrm_patch_blocked_extensions": 5}, ["lrm_patch_blocked_extensions"]),
    "lrm-extensions-dot": ("lrm_patch", {"lrm_patch_blocked_extensions": ["asp"]}, ["lrm_patch_blocked_extensions"]),
    "lrm-folders-up": ("lrm_patch", {"lrm_patch_upload_folders": ["../x"]}, ["lrm_patch_upload_folders"]),
    "lrm-audit-relative": ("lrm_patch", {"lrm_patch_audit_path": "audit.json"}, ["lrm_patch_audit_path"]),
    "lrm-site-newline": ("lrm_patch", {"lrm_patch_site_name": "LRM\n"}, ["lrm_patch_site_name"]),
    "lrm-busy-shell": ("lrm_patch", {"lrm_patch_busy_processes": ["rta;calc"]}, ["lrm_patch_busy_processes"]),
    # iqwebx_licgen: the artifacts dictionary (keys are versions: checked by the module)
    "iqw-artifact-typo": ("iqwebx_licgen",
                          {"iqwebx_licgen_artifacts": {"2.2.0.6": {"path": "/x", "sha256": SHA, "sha265": SHA}}},
                          ["iqwebx_licgen_artifacts['2.2.0.6']", "sha265"]),
    "iqw-artifacts-list": ("iqwebx_licgen", {"iqwebx_licgen_artifacts": [1, 2]}, ["iqwebx_licgen_artifacts"]),
    "iqw-artifacts-str": ("iqwebx_licgen", {"iqwebx_licgen_artifacts": "2.2.0.6=x"}, ["iqwebx_licgen_artifacts"]),
    "iqw-version": ("iqwebx_licgen", {"iqwebx_licgen_artifacts": {"latest": {"path": "/x", "sha256": SHA}}},
                    ["iqwebx_licgen_artifacts['latest']"]),
    "iqw-age": ("iqwebx_licgen", {"iqwebx_licgen_signature_max_age_days": 400},
                ["iqwebx_licgen_signature_max_age_days", "0-365"]),
    "iqw-url": ("iqwebx_licgen", {"iqwebx_licgen_login_url": "javascript:alert(1)"}, ["iqwebx_licgen_login_url"]),
}


def case_playbook(results_path, cases=None) -> list:
    tasks = []
    for case, (role, variables, _fragments) in (cases or CASES).items():
        record = "{{ results | combine({%s: %s}) }}"
        tasks.append({
            "name": f"case {case}",
            "block": [
                {"name": f"{case}: include {role}", "vars": variables,
                 "ansible.builtin.include_role": {"name": f"meddev.hardening.{role}"}},
                {"name": f"{case}: not refused", "ansible.builtin.set_fact": {"results": record % (
                    repr(case), "'NOT REFUSED'")}},
            ],
            "rescue": [{"name": f"{case}: refused", "ansible.builtin.set_fact": {"results": record % (
                repr(case), "(ansible_failed_result.msg | default('failed without a message'))")}}],
        })
    tasks.append({"name": "Save the outcomes", "delegate_to": "localhost", "check_mode": False,
                  "ansible.builtin.copy": {"content": "{{ results | to_nice_json }}", "dest": str(results_path)}})
    return [{"name": "Bad role variables", "hosts": HOST, "gather_facts": False, "vars": {"results": {}},
             "tasks": tasks}]


def test_bad_role_variables_fail_before_the_host_is_touched(lab, tmp_path):
    results_path = tmp_path / "results.json"
    playbook = tmp_path / "bad_variables.yml"
    playbook.write_text(yaml.safe_dump(case_playbook(results_path), sort_keys=False))
    before = lab.fingerprint(HOST)
    result = lab.playbook(str(playbook))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    outcomes = json.loads(results_path.read_text())
    problems = []
    for case, (_role, _variables, fragments) in CASES.items():
        message = outcomes.get(case, "no outcome recorded")
        missing = [f for f in fragments if f not in message]
        if missing:
            problems.append(f"{case}: {missing} not in {message!r}")
    assert not problems, "\n".join(problems)
    assert lab.calls(HOST) == [], "a bad variable reached the host"
    assert lab.fingerprint(HOST) == before


def test_the_check_can_fail(lab, tmp_path):
    """A variable that is fine runs the role: the playbook records it and the host is contacted."""
    results_path = tmp_path / "results.json"
    playbook = tmp_path / "good_variables.yml"
    good = {"ok": ("firewall", {"firewall_rules": [DICOM]}, ["firewall_rules"])}
    playbook.write_text(yaml.safe_dump(case_playbook(results_path, good), sort_keys=False))
    assert lab.playbook(str(playbook), "--check").returncode == 0
    assert json.loads(results_path.read_text()) == {"ok": "NOT REFUSED"}
    assert [c["phase"] for c in lab.calls(HOST)] == ["gather"]
