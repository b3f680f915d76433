"""Fixtures of the reliability suite: private copies of lab hosts (tests/integration/labkit.py)."""

import os

import pytest
from hypothesis import settings
from integration.labkit import Lab

# make test must not fail at random: the same examples every run ("ci"). Explore new ones with
# HYPOTHESIS_PROFILE=explore (and more of them with a larger max_examples).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
