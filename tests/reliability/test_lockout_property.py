"""No combination of firewall and baseline role variables can cut WinRM off from the management networks.

Each example seeds a simulated host (winsim, a private state directory), runs the firewall role's
and the baseline role's pure steps the way their action plugins do (validate -> gather -> plan ->
apply every change with the winsim host module, one change at a time, as ``run_host_module``
does), for one or two consecutive playbook runs, and then judges the host with an evaluator of
its own that follows Windows Defender Firewall semantics (written here, independently of
``module_utils/firewall.py``):

- a disabled profile filters nothing;
- on an enabled profile, an enabled inbound rule of that profile matching protocol (TCP or Any),
  local port (port, range ``a-b`` or ``Any``), remote port (a client's ephemeral port) and remote
  address (address, CIDR in prefix or dotted-mask form, range ``a-b``, ``Any``, ``LocalSubnet``)
  decides: any matching block rule wins over every allow rule;
- otherwise the profile's default inbound action decides (``NotConfigured`` is Windows' default,
  Block);
- Group Policy (firewall.json ``gpo``): a profile setting it pushes wins over the local one, its rules
  apply like local ones, and where it sets ``AllowLocalFirewallRules`` false local rules count for
  nothing, allow or block ("Apply local firewall rules: No"; Set-NetFirewallProfile.md);
- ``AllowInboundRules`` false ("Block all incoming connections", set locally or pushed by Group Policy;
  ``NotConfigured`` is Windows' default, true): every inbound rule counts for nothing, Group Policy's
  included, allow or block, and the default inbound action decides (Set-NetFirewallProfile.md).

Properties, after every run that was not refused (a refusal must leave the host untouched):

1. ``firewall_state: present``: a TCP connection from addresses inside every declared management
   network to every management port (5985 and 5986 by default) is admitted on every profile that
   applies local rules and inbound rules (elsewhere only the GPO, or only the default action, can admit
   it: property 2 holds there);
2. any state: such a connection that was admitted before the run is still admitted after it;
3. any state, management networks declared or not: a profile that admitted WinRM from somewhere
   still admits it from somewhere (the guard README.md describes);
4. the WinRM service, and the services it runs on, stay running and automatic.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import pathlib
import shutil
import tempfile
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from rendered_catalog import render_catalog

from ansible_collections.meddev.hardening.plugins.action.baseline import ActionModule as BaselineAction
from ansible_collections.meddev.hardening.plugins.module_utils import baseline, baseline_catalog, firewall, winsim
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROFILES = ("domain", "private", "public")
WINRM_PORTS = (5985, 5986)
GROUP = "meddev.hardening"
# The simulated hosts' own subnets: what LocalSubnet means to the evaluator.
LOCAL_SUBNETS = (ipaddress.ip_network("192.168.50.0/24"), ipaddress.ip_network("fd50::/64"))
CLIENT_PORT = 50123  # the ephemeral source port of a WinRM client
# WinRM and what it runs on (sc qc WinRM: RPCSS, HTTP; RPCSS: RpcEptMapper, DcomLaunch), plus the
# firewall's own services. Seeded on every host so that disabling one of them is visible.
WINRM_SERVICES = {"WinRM": ("RpcSs", "HTTP"), "RpcSs": ("RpcEptMapper", "DcomLaunch")}
PLUMBING = ("RpcSs", "HTTP", "RpcEptMapper", "DcomLaunch", "MpsSvc", "BFE")
SEEDS = {  # seed -> (winsim profile, meddev_products)
    "lrm_instrument": ("lrm_instrument", ["illumina_lrm"]),
    "carestream_imagesuite": ("carestream_imagesuite", ["carestream_imagesuite"]),
    "compliant_firewall": ("compliant_firewall", []),
    "philips_mr": ("philips_mr", ["philips_mr"]),
    "carestream_directview": ("carestream_directview", ["carestream_directview"]),
    # Every profile off and no firewall rule at all: WinRM works only because nothing filters.
    "firewall_off": ("compliant_firewall", []),
    # Group Policy ignores local rules on domain and private; its WinRM rule covers domain only.
    "gpo_local_rules_ignored": ("gpo_local_rules_ignored", []),
    # Inbound rules ignored on private (GPO; WinRM by default Allow) and public (locally; shields up).
    "gpo_block_all_inbound": ("gpo_block_all_inbound", []),
}
NETWORKS = ["10.10.0.0/24", "10.10.0.7", "10.10.0.1-10.10.0.20", "192.168.50.0/24", "LocalSubnet", "172.16.0.0/12",
            "fd00:10::/64", "Any", "10.0.0.0/8", "192.168.50.9"]
OTHER_ADDRESSES = ["203.0.113.0/24", "198.51.100.7", "LocalSubnet", "Any", "10.10.0.0/25", "10.99.0.0/16"]
# Local ports of declared rules: most leave WinRM alone, some cover it (all ports, 5985, 5986, ranges).
OTHER_PORTS = [["80"], ["445", "137-139"], ["1-5984"], ["5987-65535"], ["3389"], ["8443"], ["104", "11112"]]
WINRM_COVERING = [None, [], ["Any"], ["5985"], ["5986"], ["5985", "5986"], ["5000-6000"], ["5984-5985"]]
SAFE_SERVICES = ["RemoteRegistry", "SSDPSRV", "Spooler", "upnphost", "WMPNetworkSvc"]
PLUMBING_SERVICES = ["WinRM", "winrm", "HTTP", "RpcSs", "MpsSvc", "BFE", "DcomLaunch", "RpcEptMapper"]


# -- Windows Defender Firewall, as the evaluator understands it --------------------------------------------

def _address_matches(entry: str, address) -> bool:
    text = str(entry).strip()
    low = text.lower()
    if low == "any":
        return True
    if low in ("localsubnet", "localsubnet4", "localsubnet6"):
        wanted = {"localsubnet": (4, 6), "localsubnet4": (4,), "localsubnet6": (6,)}[low]
        return address.version in wanted and any(address in net for net in LOCAL_SUBNETS)
    try:
        if "-" in text:
            low_end, high_end = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return low_end.version == address.version and low_end <= address <= high_end
        network = ipaddress.ip_network(text, strict=False)  # also 10.1.0.0/255.255.0.0
    except ValueError:
        return False  # keywords the evaluator does not model never match
    return network.version == address.version and address in network


def _port_matches(ports, port: int) -> bool:
    for item in ports or ["Any"]:
        text = str(item).strip()
        if text.lower() == "any":
            return True
        low, _sep, high = text.partition("-")
        if low.isdigit() and (high.isdigit() or not high) and int(low) <= port <= int(high or low):
            return True
    return False


def _rule_matches(rule: dict, profile: str, address, port: int) -> bool:
    profiles = [p.strip().lower() for p in str(rule["Profile"]).split(",")]
    return (rule["Enabled"] is True and rule["Direction"] == "Inbound" and rule["Protocol"] in ("TCP", "Any")
            and ("any" in profiles or profile in profiles)
            and _port_matches(rule["LocalPort"], port) and _port_matches(rule["RemotePort"], CLIENT_PORT)
            and any(_address_matches(a, address) for a in rule["RemoteAddress"]))


def _profile_settings(fw: dict, profile: str) -> dict:
    """The profile's settings in force: Group Policy's where it pushes one."""
    pushed = ((fw.get("gpo") or {}).get("profiles") or {}).get(profile.capitalize()) or {}
    return {**fw["profiles"][profile.capitalize()], **pushed}


def local_rules_apply(fw: dict, profile: str) -> bool:
    return _profile_settings(fw, profile).get("AllowLocalFirewallRules", True) is not False


def inbound_rules_apply(fw: dict, profile: str) -> bool:
    return _profile_settings(fw, profile).get("AllowInboundRules", "NotConfigured") is not False


def admitted(fw: dict, profile: str, address, port: int) -> bool:
    """Would an inbound TCP connection from ``address`` to ``port`` arriving on ``profile`` get through?"""
    settings_ = _profile_settings(fw, profile)
    if not settings_["Enabled"]:
        return True
    in_force = [*(fw["rules"] if local_rules_apply(fw, profile) else []), *((fw.get("gpo") or {}).get("rules") or [])]
    if not inbound_rules_apply(fw, profile):
        in_force = []
    rules = [r for r in in_force if _rule_matches(r, profile, address, port)]
    if any(r["Action"] == "Block" for r in rules):
        return False
    if any(r["Action"] == "Allow" for r in rules):
        return True
    return settings_["DefaultInboundAction"] == "Allow"


def probes(network: str) -> list:
    """Addresses inside a management network entry (both ends of it)."""
    low = network.lower()
    if low == "any":
        return [ipaddress.ip_address("203.0.113.9"), ipaddress.ip_address("2001:db8::9")]
    if low.startswith("localsubnet"):
        return [net.network_address + 77 for net in LOCAL_SUBNETS
                if low == "localsubnet" or str(net.version) == low[-1]]
    if "-" in network:
        return [ipaddress.ip_address(p.strip()) for p in network.split("-", 1)]
    net = ipaddress.ip_network(network, strict=False)
    if net.num_addresses <= 2:
        return [net.network_address]
    return [net.network_address + 1, net.broadcast_address - 1]


def _rule_samples(fw: dict) -> list:
    out = []
    for rule in [*fw["rules"], *((fw.get("gpo") or {}).get("rules") or [])]:
        for entry in rule["RemoteAddress"]:
            text = str(entry).split("-", maxsplit=1)[0]
            try:
                out.append(ipaddress.ip_network(text, strict=False).network_address)
            except ValueError:
                pass
    return out


def winrm_somewhere(fw: dict, profile: str, extra=()) -> bool:
    candidates = [*extra, *_rule_samples(fw), ipaddress.ip_address("192.168.50.77"),
                  ipaddress.ip_address("203.0.113.9"), ipaddress.ip_address("10.99.0.1")]
    return any(admitted(fw, profile, a, p) for a in candidates for p in WINRM_PORTS)


def winrm_service_problems(services: dict) -> list:
    problems = []
    winrm = services.get("WinRM") or {}
    if winrm.get("Status") != "Running" or winrm.get("StartType") != "Automatic":
        problems.append(f"WinRM is {winrm.get('StartType')}, {winrm.get('Status')}")
    pending, seen = list(WINRM_SERVICES["WinRM"]), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending += WINRM_SERVICES.get(name, ())
        entry = services.get(name) or {}
        if entry.get("StartType") == "Disabled" or entry.get("Status") != "Running":
            problems.append(f"{name}, which WinRM needs, is {entry.get('StartType')}, {entry.get('Status')}")
    return problems


# -- the simulated host and the two roles ---------------------------------------------------------------------

_TEMPLATES: dict = {}


def _seed_template(seed: str) -> pathlib.Path:
    """One seeded state directory per seed, copied for every example (seeding fsyncs every file)."""
    if seed not in _TEMPLATES:
        profile = SEEDS[seed][0]
        document = copy.deepcopy(winsim_profiles.load(profile))
        document["files"] = {}  # the firewall and the baseline read no files
        state = document["state"]
        if seed == "firewall_off":
            state["firewall"]["rules"] = []
            for settings_ in state["firewall"]["profiles"].values():
                settings_["Enabled"] = False
        services = state.setdefault("services", {})
        services.setdefault("WinRM", {"Status": "Running", "StartType": "Automatic"})
        for name in PLUMBING:
            services.setdefault(name, {"Status": "Running", "StartType": "Automatic"})
        root = pathlib.Path(tempfile.mkdtemp(prefix=f"lockout-{seed}-"))
        winsim.seed(root / "host", profile, document)
        _TEMPLATES[seed] = root / "host"
    return _TEMPLATES[seed]


@pytest.fixture(scope="module", autouse=True)
def _templates():
    yield
    for path in _TEMPLATES.values():
        shutil.rmtree(path.parent, ignore_errors=True)
    _TEMPLATES.clear()


@functools.cache
def _catalog(products: tuple, rdp: str) -> tuple:
    """The role's catalog as Ansible templates it for these variables (BL-SVC filled in per run)."""
    return tuple(render_catalog(meddev_products=list(products), baseline_rdp=rdp))


def firewall_args(host_vars: dict, run: dict) -> dict:
    """The firewall_policy task of roles/firewall/tasks/main.yml."""
    return {
        "state": run["firewall_state"], "profiles_enabled": run["firewall_profiles_enabled"],
        "default_inbound_block": run["firewall_default_inbound_block"], "lrm_block_web": run["firewall_lrm_block_web"],
        "management_networks": host_vars["firewall_management_networks"],
        "management_ports": host_vars["firewall_management_ports"], "rules": run["firewall_rules"],
        "exclusive": run["firewall_exclusive"], "rule_group": GROUP,
    }


def baseline_args(products: list, run: dict) -> dict:
    """The baseline task of roles/baseline/tasks/main.yml."""
    catalog = [dict(e) for e in _catalog(tuple(products), run["baseline_rdp"])]
    for entry in catalog:
        if entry["id"] == "BL-SVC":
            entry["value"] = list(run["baseline_disabled_services"])
    return {"catalog": catalog, "products": products, "protected_services": run["baseline_protected_services"]}


def run_firewall(host: winsim.SimHost, args: dict):
    desired = firewall.validate(args, prefix="firewall_")
    gathered = fw_sim.gather(host.read("firewall", {"profiles": {}, "rules": []}), desired.group)
    plan = firewall.plan(desired, gathered)
    for change in plan.changes:  # as firewall_policy.main's apply_one: each change takes effect at once
        state = host.read("firewall", {"profiles": {}, "rules": []})
        fw_sim.apply_change(state, change.as_host_dict(), desired.group)
        host.write("firewall", state)
    return plan


def run_baseline(host: winsim.SimHost, args: dict):
    desired = baseline.validate(args, prefix="baseline_")
    host_args = BaselineAction.host_args(None, desired)
    plan = baseline.plan(desired, baseline_sim.gather(host, host_args))
    for change in plan.changes:
        baseline_sim.apply_change(host, change.as_host_dict())
    return plan


def host_state(host: winsim.SimHost) -> dict:
    return {"firewall": host.read("firewall"), "services": host.read("services")}


def check_run(before: dict, after: dict, host_vars: dict, run: dict) -> None:
    """Properties 1-4 for one run that the roles did not refuse."""
    networks = host_vars["firewall_management_networks"]
    ports = host_vars["firewall_management_ports"]
    mgmt = [a for n in networks for a in probes(n)]
    for profile in PROFILES:
        for address in mgmt:
            for port in ports:
                now = admitted(after["firewall"], profile, address, port)
                if (run["firewall_state"] == "present" and local_rules_apply(after["firewall"], profile)
                        and inbound_rules_apply(after["firewall"], profile)):
                    assert now, (f"WinRM TCP {port} from {address} (management network) is blocked on the {profile} "
                                 f"profile after a present run\n{after['firewall']}")
                elif admitted(before["firewall"], profile, address, port):
                    assert now, (f"WinRM TCP {port} from {address} (management network) was admitted on the "
                                 f"{profile} profile and is blocked after the run\n{after['firewall']}")
        if winrm_somewhere(before["firewall"], profile, mgmt):
            assert winrm_somewhere(after["firewall"], profile, mgmt), (
                f"WinRM was admitted on the {profile} profile and is blocked from everywhere after the run\n"
                f"{after['firewall']}")
    assert not winrm_service_problems(after["services"]), winrm_service_problems(after["services"])


def play(scenario: dict) -> list:
    """Run the scenario's playbook runs on a fresh copy of its seeded host; return what each run did."""
    host_vars, products = scenario["host"], SEEDS[scenario["host"]["seed"]][1]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="lockout-") as tmp, \
            mock.patch.object(winsim.os, "fsync", lambda _fd: None):  # durability is not the property here
        shutil.copytree(_seed_template(host_vars["seed"]), pathlib.Path(tmp) / "host")
        host = winsim.SimHost(pathlib.Path(tmp) / "host")
        state = host.read("firewall")
        for name, override in scenario["profile_overrides"].items():
            state["profiles"][name.capitalize()].update(override)
        host.write("firewall", state)
        for run in scenario["runs"]:
            before = host_state(host)
            try:
                run_firewall(host, firewall_args(host_vars, run))
                run_baseline(host, baseline_args(products, run))  # a failed firewall task stops the host's play
            except ArgumentError as error:
                outcomes.append(("refused", error))
                refused_at = host_state(host)
                if "firewall_" in error.variable:
                    assert refused_at == before, f"the firewall role changed the host, then refused: {error}"
                else:
                    assert refused_at["services"] == before["services"], f"baseline changed services: {error}"
                    check_run(before, refused_at, host_vars, run)
                continue
            outcomes.append(("applied", None))
            check_run(before, host_state(host), host_vars, run)
    return outcomes


# -- strategies -------------------------------------------------------------------------------------------------

profile_subsets = st.lists(st.sampled_from(PROFILES), unique=True, max_size=3)


@st.composite
def rule_lists(draw):
    rules = []
    for i in range(draw(st.integers(0, 3))):
        rule = {"name": f"r{i}", "action": draw(st.sampled_from(["allow", "block"])),
                "direction": draw(st.sampled_from(["inbound", "inbound", "outbound"])),
                "protocol": draw(st.sampled_from(["tcp", "tcp", "udp", "any"])),
                "enabled": draw(st.booleans())}
        ports = draw(st.sampled_from(OTHER_PORTS) if draw(st.integers(0, 3)) else st.sampled_from(WINRM_COVERING))
        if ports is not None and rule["protocol"] != "any":
            rule["local_ports"] = ports
        if draw(st.integers(0, 4)) == 0 and rule["protocol"] != "any":
            rule["remote_ports"] = draw(st.sampled_from([["80"], ["1-1024"], ["Any"], ["49152-65535"]]))
        if rule["action"] == "allow" or draw(st.booleans()):
            rule["remote_addresses"] = draw(st.lists(st.sampled_from(NETWORKS + OTHER_ADDRESSES), min_size=1,
                                                     max_size=3, unique=True))
        if draw(st.booleans()):
            rule["profiles"] = draw(st.lists(st.sampled_from([*PROFILES, "any"]), min_size=1, max_size=2, unique=True))
        rules.append(rule)
    return rules


runs = st.fixed_dictionaries({
    "firewall_state": st.sampled_from(["present", "present", "absent"]),
    "firewall_profiles_enabled": st.one_of(st.just(list(PROFILES)), profile_subsets),
    "firewall_default_inbound_block": st.one_of(st.just([]), profile_subsets),
    "firewall_lrm_block_web": st.booleans(),
    "firewall_rules": rule_lists(),
    "firewall_exclusive": st.booleans(),
    "baseline_disabled_services": st.one_of(
        st.lists(st.sampled_from(SAFE_SERVICES), max_size=3, unique=True),
        st.just(["RemoteRegistry", "SSDPSRV", "upnphost", "WMPNetworkSvc"]),  # the role's default
        st.tuples(st.lists(st.sampled_from(SAFE_SERVICES), max_size=2, unique=True),
                  st.sampled_from(PLUMBING_SERVICES)).map(lambda t: [*t[0], t[1]])),
    "baseline_protected_services": st.lists(st.sampled_from(["Spooler", "RemoteRegistry"]), max_size=1),
    "baseline_rdp": st.sampled_from(["disabled", "nla", "unmanaged"]),
})
scenarios = st.fixed_dictionaries({
    "host": st.fixed_dictionaries({
        "seed": st.sampled_from(sorted(SEEDS)),
        "firewall_management_networks": st.one_of(
            st.lists(st.sampled_from(NETWORKS), min_size=1, max_size=3, unique=True),
            st.lists(st.sampled_from(NETWORKS), max_size=2, unique=True)),
        "firewall_management_ports": st.sampled_from([[5985, 5986], [5985, 5986], [5985, 5986], [5986], [5985],
                                                      [5985, 5986, 8443]]),
    }),
    "profile_overrides": st.dictionaries(
        st.sampled_from(PROFILES),
        st.fixed_dictionaries({}, optional={
            "Enabled": st.booleans(),
            "DefaultInboundAction": st.sampled_from(["Allow", "Block", "NotConfigured"]),
            "AllowInboundRules": st.sampled_from([True, False, "NotConfigured"])}),
        max_size=3),
    "runs": st.lists(runs, min_size=1, max_size=2),
})


def quiet_run(**overrides) -> dict:
    """A run that changes little, for the explicit examples."""
    return {"firewall_state": "present", "firewall_profiles_enabled": list(PROFILES),
            "firewall_default_inbound_block": [], "firewall_lrm_block_web": False, "firewall_rules": [],
            "firewall_exclusive": False, "baseline_disabled_services": ["RemoteRegistry"],
            "baseline_protected_services": [], "baseline_rdp": "nla", **overrides}


def scenario(seed="lrm_instrument", networks=("10.10.0.0/24",), ports=(5985, 5986), overrides=None, runs_=()):
    return {"host": {"seed": seed, "firewall_management_networks": list(networks),
                     "firewall_management_ports": list(ports)},
            "profile_overrides": overrides or {}, "runs": list(runs_) or [quiet_run()]}


BLOCK_5985 = {"name": "no-winrm", "action": "block", "local_ports": ["5985"], "remote_addresses": ["10.10.0.0/24"]}
ABSENT_AFTER_MGMT = scenario(runs_=[quiet_run(), quiet_run(firewall_state="absent")])
# Private admits WinRM by its local default Allow only; Group Policy ignores local rules there (mgmt-winrm too).
GPO_PRIVATE_BLOCK = scenario(seed="gpo_local_rules_ignored",
                             runs_=[quiet_run(firewall_default_inbound_block=["private"])])
# Private admits WinRM by its local default Allow only; Group Policy ignores every inbound rule there.
BLOCK_ALL_PRIVATE = scenario(seed="gpo_block_all_inbound",
                             runs_=[quiet_run(firewall_default_inbound_block=["private"])])
# Public is off and blocks all incoming connections (set locally): switching it on would cut WinRM off there.
BLOCK_ALL_PUBLIC_OFF = scenario(seed="gpo_block_all_inbound", overrides={"public": {"Enabled": False}})
# Domain is off; once on, only the GPO's rule (10.10.0.0/24, TCP 5985/5986) counts there: not for 8443.
GPO_DOMAIN_ON_8443 = scenario(seed="gpo_local_rules_ignored", ports=(5985, 5986, 8443),
                              overrides={"domain": {"Enabled": False}})
ABSENT_WHILE_BLOCKING = scenario(runs_=[quiet_run(firewall_default_inbound_block=["public"]),
                                        quiet_run(firewall_state="absent")])


# -- the property ---------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios)
@example(scenario(runs_=[quiet_run(firewall_rules=[BLOCK_5985])]))
@example(scenario(networks=(), runs_=[quiet_run(firewall_default_inbound_block=list(PROFILES))]))
@example(ABSENT_WHILE_BLOCKING)
@example(GPO_PRIVATE_BLOCK)
@example(BLOCK_ALL_PRIVATE)
@example(GPO_DOMAIN_ON_8443)
@example(scenario(seed="gpo_local_rules_ignored", networks=("192.168.50.0/24",),
                  overrides={"domain": {"Enabled": False}}))
@example(BLOCK_ALL_PUBLIC_OFF)
@example(scenario(seed="gpo_block_all_inbound", runs_=[quiet_run(), quiet_run(firewall_state="absent")]))
@example(ABSENT_AFTER_MGMT)
@example(scenario(seed="philips_mr", runs_=[quiet_run(), quiet_run(firewall_state="absent")]))
@example(scenario(runs_=[quiet_run(baseline_disabled_services=["WinRM"])]))
@example(scenario(runs_=[quiet_run(baseline_disabled_services=["HTTP"])]))
@example(scenario(seed="firewall_off", networks=(),
                  runs_=[quiet_run(firewall_rules=[{"name": "w", "local_ports": ["5985"], "remote_ports": ["80"],
                                                    "remote_addresses": ["Any"]}])]))
def test_no_role_variables_lock_winrm_out_of_the_management_networks(scenario_):
    for outcome, error in play(scenario_):
        event(outcome if error is None else f"{outcome}: {error.variable.split('[')[0]}")


# -- the known dangerous cases, spelled out -----------------------------------------------------------------

def test_block_rule_on_5985_is_refused_before_the_host_is_touched():
    outcomes = play(scenario(runs_=[quiet_run(firewall_rules=[BLOCK_5985])]))
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_rules[0]"


def test_default_block_without_management_networks_is_refused():
    outcomes = play(scenario(networks=(), runs_=[quiet_run(firewall_default_inbound_block=list(PROFILES))]))
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_management_networks"


def test_default_block_where_group_policy_ignores_local_rules_is_refused():
    outcomes = play(GPO_PRIVATE_BLOCK)
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_default_inbound_block"


def test_default_block_or_enabling_where_inbound_rules_are_ignored_is_refused():
    outcomes = play(BLOCK_ALL_PRIVATE)
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_default_inbound_block"
    outcomes = play(BLOCK_ALL_PUBLIC_OFF)
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_profiles_enabled"
    assert "AllowInboundRules=False" in str(outcomes[0][1])


def test_enabling_where_group_policy_rules_miss_a_management_port_is_refused():
    outcomes = play(GPO_DOMAIN_ON_8443)
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "firewall_profiles_enabled"
    assert "TCP 8443 from 10.10.0.0/24" in str(outcomes[0][1])


def test_a_profile_already_blocking_all_incoming_connections_is_left_as_it_is():
    assert [o[0] for o in play(scenario(seed="gpo_block_all_inbound"))] == ["applied"]


def test_absent_while_a_profile_blocks_keeps_the_management_rule():
    assert [o[0] for o in play(ABSENT_WHILE_BLOCKING)] == ["applied", "applied"]


def test_absent_on_a_notconfigured_profile_keeps_winrm_for_the_management_networks():
    """NotConfigured is Windows' default inbound action, Block: removing mgmt-winrm there cuts the networks off."""
    assert [o[0] for o in play(ABSENT_AFTER_MGMT)] == ["applied", "applied"]


@pytest.mark.parametrize("service", ["WinRM", "winrm", "HTTP", "RpcSs"])
def test_baseline_refuses_to_disable_winrm_or_what_it_runs_on(service):
    outcomes = play(scenario(runs_=[quiet_run(baseline_disabled_services=[service])]))
    assert outcomes[0][0] == "refused" and outcomes[0][1].variable == "baseline_disabled_services"


# -- the evaluator itself must be able to say no ---------------------------------------------------------------

def _fw(default="NotConfigured", enabled=True, rules=()):
    return {"profiles": {p.capitalize(): {"Enabled": enabled, "DefaultInboundAction": default} for p in PROFILES},
            "rules": [{"Name": f"t{i}", "Group": "x", "Direction": "Inbound", "Enabled": True, "Protocol": "TCP",
                       "LocalPort": ["5985"], "RemotePort": ["Any"], "RemoteAddress": ["Any"], "Profile": "Any",
                       "Action": "Allow", **r} for i, r in enumerate(rules)]}


def test_evaluator_follows_windows_firewall_semantics():
    inside, outside = ipaddress.ip_address("10.10.0.5"), ipaddress.ip_address("10.20.0.5")
    assert admitted(_fw(enabled=False), "public", inside, 5985)
    assert not admitted(_fw(), "public", inside, 5985)  # NotConfigured means Block
    assert admitted(_fw(default="Allow"), "public", inside, 5985)
    assert admitted(_fw(rules=[{}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{}]), "domain", inside, 5986)
    assert not admitted(_fw(rules=[{}, {"Action": "Block"}]), "domain", inside, 5985)  # block wins
    assert not admitted(_fw(default="Allow", rules=[{"Action": "Block", "LocalPort": ["5000-6000"]}]),
                        "private", inside, 5986)
    assert admitted(_fw(rules=[{}, {"Action": "Block", "Enabled": False}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"Enabled": False}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"Direction": "Outbound"}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"Protocol": "UDP"}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"Profile": "Domain, Private"}]), "public", inside, 5985)
    assert admitted(_fw(rules=[{"Profile": "Domain, Public"}]), "public", inside, 5985)
    mask = {"RemoteAddress": ["10.10.0.0/255.255.255.0"]}
    assert admitted(_fw(rules=[mask]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[mask]), "domain", outside, 5985)
    assert admitted(_fw(rules=[{"RemoteAddress": ["10.10.0.1-10.10.0.9"]}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"RemoteAddress": ["LocalSubnet"]}]), "domain", inside, 5985)
    assert admitted(_fw(rules=[{"RemoteAddress": ["LocalSubnet"]}]), "domain",
                    ipaddress.ip_address("192.168.50.3"), 5985)
    assert not admitted(_fw(rules=[{"RemotePort": ["80"]}]), "domain", inside, 5985)
    assert not admitted(_fw(rules=[{"RemoteAddress": ["Intranet"]}]), "domain", inside, 5985)
    # Group Policy: "Apply local firewall rules: No" voids local rules, allow and block; its own rules count.
    ignoring = _fw(rules=[{}])
    ignoring["gpo"] = {"profiles": {"Domain": {"AllowLocalFirewallRules": False}}, "rules": []}
    assert not admitted(ignoring, "domain", inside, 5985) and admitted(ignoring, "private", inside, 5985)
    ignoring["gpo"]["rules"] = _fw(rules=[{"Profile": "Domain"}])["rules"]
    assert admitted(ignoring, "domain", inside, 5985) and not admitted(ignoring, "domain", inside, 5986)
    voided_block = _fw(default="Allow", rules=[{"Action": "Block"}])
    voided_block["gpo"] = {"profiles": {"Public": {"AllowLocalFirewallRules": False}}}
    assert admitted(voided_block, "public", inside, 5985) and not admitted(voided_block, "domain", inside, 5985)
    # "Block all incoming connections": every rule is void, GPO's too, allow and block; the default decides.
    shields = _fw(rules=[{}])
    shields["profiles"]["Domain"]["AllowInboundRules"] = False
    shields["profiles"]["Private"]["AllowInboundRules"] = "NotConfigured"  # Windows' default: True
    assert not admitted(shields, "domain", inside, 5985) and admitted(shields, "private", inside, 5985)
    shields["gpo"] = {"profiles": {"Domain": {"AllowInboundRules": True}, "Private": {"AllowInboundRules": False}},
                      "rules": _fw(rules=[{"Profile": "Private"}])["rules"]}  # GPO wins, its rules are void too
    assert admitted(shields, "domain", inside, 5985) and not admitted(shields, "private", inside, 5985)
    open_default = _fw(default="Allow", rules=[{"Action": "Block"}])
    open_default["profiles"]["Public"]["AllowInboundRules"] = False
    assert admitted(open_default, "public", inside, 5985) and not admitted(open_default, "domain", inside, 5985)
    pushed = _fw(enabled=False)
    pushed["gpo"] = {"profiles": {"Public": {"Enabled": True}}}  # GPO wins over the local setting
    assert not admitted(pushed, "public", inside, 5985) and admitted(pushed, "domain", inside, 5985)
    assert winrm_service_problems({"WinRM": {"Status": "Running", "StartType": "Automatic"},
                                   "HTTP": {"Status": "Stopped", "StartType": "Disabled"}})


def test_property_catches_a_lockout():
    """A firewall that lets a block rule on 5985 through is caught by the property."""
    with mock.patch.object(firewall, "blocks_management", lambda *_a, **_k: False), \
            pytest.raises(AssertionError, match="management network"):
        play(scenario(runs_=[quiet_run(firewall_rules=[BLOCK_5985])]))
    # A guard that trusted local rules where Group Policy ignores them would block WinRM on private.
    with mock.patch.object(firewall, "local_rules_applied", lambda _settings: True), \
            pytest.raises(AssertionError, match="private profile"):
        play(GPO_PRIVATE_BLOCK)
    # A guard that trusted rules where inbound rules are ignored would block WinRM on private.
    with mock.patch.object(firewall, "inbound_rules_allowed", lambda _settings: True), \
            pytest.raises(AssertionError, match="private profile"):
        play(BLOCK_ALL_PRIVATE)
    with mock.patch.object(baseline_catalog, "PROTECTED_SERVICES", set()), \
            pytest.raises(AssertionError, match="WinRM is"):
        play(scenario(runs_=[quiet_run(baseline_disabled_services=["WinRM"])]))
