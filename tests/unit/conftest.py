"""Shared fixtures: simulated-host states from the seed profiles."""

import copy

import pytest

from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles


@pytest.fixture
def lab_firewall():
    """Windows-shaped firewall state of the lab LRM instrument (a fresh copy per test)."""
    return copy.deepcopy(winsim_profiles.load("lrm_instrument")["state"]["firewall"])


@pytest.fixture
def gather():
    def _gather(state, group="meddev.hardening"):
        return fw_sim.gather(state, group)
    return _gather
