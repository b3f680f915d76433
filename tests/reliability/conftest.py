"""Fixtures of the reliability suite: private copies of lab hosts (tests/integration/labkit.py)."""

import pytest
from integration.labkit import Lab


@pytest.fixture
def lab(tmp_path):
    """The lab's LRM instrument PC alone (firewall, av_exclusions, baseline, lrm_patch)."""
    return Lab(tmp_path, only=("lrm-miseq-01",))


@pytest.fixture
def radiology(tmp_path):
    """iqwebx-01 (LicGen.exe in quarantine) and iqwebx-02 (deleted; restored from the artifact)."""
    return Lab(tmp_path, only=("iqwebx-01", "iqwebx-02"))


@pytest.fixture
def workstation(tmp_path):
    """The Carestream Image Suite workstation (firewall, av_exclusions, baseline)."""
    return Lab(tmp_path, only=("cs-imagesuite-01",))
