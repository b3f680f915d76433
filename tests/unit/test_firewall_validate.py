"""Validation of firewall input: every bad value names its variable and the allowed values."""

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError


def validate(**args):
    return firewall.validate(args, prefix="firewall_")


def allow(**rule):
    return {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"], **rule}


@pytest.mark.parametrize("port", ["70000", "0", "80-70", "http", "-5", "1-2-3"])
def test_invalid_port_names_variable_and_range(port):
    with pytest.raises(ArgumentError) as error:
        validate(rules=[allow(local_ports=[port])])
    assert error.value.variable == "firewall_rules[0].local_ports"
    assert "1-65535" in str(error.value)


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0/24", "300.1.1.1/24", "fd00::/129", "10.0.0.9-10.0.0.1", "*"])
def test_malformed_address_names_variable_and_forms(cidr):
    with pytest.raises(ArgumentError) as error:
        validate(rules=[allow(remote_addresses=[cidr])])
    assert error.value.variable == "firewall_rules[0].remote_addresses"
    assert "CIDR" in str(error.value) and "LocalSubnet" in str(error.value)


@pytest.mark.parametrize("ports", [["5985"], ["5986"], ["5000-6000"], [], ["Any"], ["80", "5985"]])
@pytest.mark.parametrize("protocol", ["tcp", "any"])
def test_block_rule_covering_winrm_is_refused(ports, protocol):
    rule = {"name": "no-winrm", "action": "block", "protocol": protocol, "local_ports": ports}
    if protocol == "any":
        rule.pop("local_ports")
    with pytest.raises(ArgumentError) as error:
        validate(rules=[rule])
    assert error.value.variable == "firewall_rules[0]"
    assert "lock out management" in str(error.value)


def test_block_rule_not_covering_winrm_is_accepted():
    desired = validate(rules=[{"name": "no-smb", "action": "block", "local_ports": ["445", "137-139"]},
                              {"name": "no-udp", "action": "block", "protocol": "udp", "local_ports": ["5985"]}])
    assert [d.rule.local_ports for d in desired.rules] == [("137-139", "445"), ("5985",)]


def test_custom_management_port_is_guarded_too():
    with pytest.raises(ArgumentError, match="lock out"):
        validate(management_ports=[5985, 5986, 8443],
                 rules=[{"name": "x", "action": "block", "local_ports": ["8443"]}])


def test_default_block_needs_management_networks():
    with pytest.raises(ArgumentError) as error:
        validate(default_inbound_block=["public"])
    assert error.value.variable == "firewall_management_networks"
    desired = validate(default_inbound_block=["public"], management_networks=["10.10.0.0/24"])
    assert "mgmt-winrm" in [d.rule.name for d in desired.rules]


def test_allow_rule_must_be_scoped():
    with pytest.raises(ArgumentError) as error:
        validate(rules=[{"name": "open", "local_ports": ["104"]}])
    assert error.value.variable == "firewall_rules[0].remote_addresses"


def test_ports_with_protocol_any_are_refused():
    with pytest.raises(ArgumentError, match="protocol"):
        validate(rules=[allow(protocol="any")])


@pytest.mark.parametrize("name", ["", "a b", "x;y", "$(calc)", "a" * 65, "-lead", "ä"])
def test_rule_names_are_restricted(name):
    with pytest.raises(ArgumentError) as error:
        validate(rules=[allow(name=name)])
    assert error.value.variable == "firewall_rules[0].name"


def test_unknown_rule_key_is_refused():
    with pytest.raises(ArgumentError, match="unknown keys"):
        validate(rules=[allow(port="104")])


def test_duplicate_and_builtin_names_are_refused():
    with pytest.raises(ArgumentError, match="unique"):
        validate(rules=[allow(), allow()])
    with pytest.raises(ArgumentError, match="lrm-block-http"):
        validate(lrm_block_web=True, rules=[allow(name="LRM-block-http")])


@pytest.mark.parametrize(("option", "value", "variable"), [
    ("state", "gone", "firewall_state"),
    ("profiles_enabled", ["work"], "firewall_profiles_enabled"),
    ("default_inbound_block", ["home"], "firewall_default_inbound_block"),
    ("management_networks", ["10.1.1.1/40"], "firewall_management_networks"),
    ("management_ports", [99999], "firewall_management_ports"),
    ("management_ports", ["5985-5990"], "firewall_management_ports"),
])
def test_top_level_options_name_their_variable(option, value, variable):
    with pytest.raises(ArgumentError) as error:
        validate(**{option: value})
    assert error.value.variable == variable


def test_addresses_are_canonical():
    assert firewall.canonical_addresses(["10.20.30.0/255.255.255.0", "10.20.30.7/24", "localsubnet",
                                         "10.1.1.1/32", "FD00::/64"], "v") == (
        "10.1.1.1", "10.20.30.0/24", "LocalSubnet", "fd00::/64")
    assert firewall.canonical_addresses(["10.0.0.1", "any"], "v") == ("Any",)
    assert firewall.canonical_profiles(["Public", "domain", "private"], "v") == ("Any",)
    assert firewall.canonical_profiles(["public", "domain"], "v") == ("Domain", "Public")


def test_lrm_block_builds_both_rules_with_vendor_source():
    desired = validate(lrm_block_web=True)
    built = {d.control_id: d for d in desired.rules}
    assert set(built) == {"FW-LRM-BLOCK-HTTP", "FW-LRM-BLOCK-HTTPS"}
    assert built["FW-LRM-BLOCK-HTTP"].rule.local_ports == ("80",)
    assert built["FW-LRM-BLOCK-HTTPS"].rule.local_ports == ("443",)
    assert all("SRC-LRM-9" in d.source for d in desired.rules)
