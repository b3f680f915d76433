"""The lab seed profiles show the issue 14 evidence: SRP on the LRM instrument, patch age on the Image Suite
workstation, application control, an unencrypted data drive and NTP on the Philips MR console."""

import pytest
from test_baseline_catalog import catalog

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ENABLED = {"enable_BL-PATCH-CURRENCY": True, "enable_BL-TIME-STATUS": True, "baseline_max_update_age_days": 60,
           "baseline_ntp_max_offset_s": 1}


def controls(tmp_path, profile: str, products: list) -> dict:
    host = winsim.seed(tmp_path / profile, profile, winsim_profiles.load(profile))
    host.write("clock", {"today": "2026-12-02"})
    desired = baseline.validate({"catalog": catalog(**ENABLED), "products": products})
    registry = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries
                if e.mechanism in ("registry", "secopt")]
    plan = baseline.plan(desired, baseline_sim.gather(host, {"registry_values": registry, "services": []}))
    return {c.id: c for c in plan.controls}


def test_lrm_instrument_srp_exempts_c_illumina(tmp_path):
    srp = controls(tmp_path, "lrm_instrument", ["illumina_lrm"])["BL-SRP-STATE"]
    assert srp.status == "compliant" and "default level Disallowed" in srp.actual


def test_image_suite_reports_an_old_update_from_its_wsus_server(tmp_path):
    patch = controls(tmp_path, "carestream_imagesuite", ["carestream_imagesuite"])["BL-PATCH-CURRENCY"]
    assert patch.status == "drift"
    assert "14393.6709 installed 2024-02-20" in patch.actual and "wsus.hospital.local" in patch.actual


@pytest.mark.parametrize("cid, status, text", [
    ("BL-APP-CONTROL", "compliant", "application control agent: scsrvc"),
    ("BL-BITLOCKER-DRIVES", "manual", "D: off None"),
    ("BL-TIME-STATUS", "compliant", "source ntp1.hospital.local"),
    ("BL-DICOM-TLS", "manual", "not readable from Windows"),
])
def test_philips_mr_console_evidence(tmp_path, cid, status, text):
    control = controls(tmp_path, "philips_mr", ["philips_mr"])[cid]
    assert control.status == status and text in control.actual
