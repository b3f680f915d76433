# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows Defender Firewall: validate the desired state and plan the changes. No I/O here.

The host module gathers profiles, the rules this collection owns (one rule group) and the
enabled inbound allow rules that admit WinRM; :func:`plan` compares that with the desired
state and returns typed changes, each tied to a control id and its vendor source.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    DRIFT,
    MANUAL,
    ArgumentError,
    Change,
    Control,
    Plan,
    as_bool,
    as_list,
    as_names,
)

PROFILES = ("domain", "private", "public")
WINRM_PORTS = (5985, 5986)
DEFAULT_GROUP = "meddev.hardening"
ADDRESS_KEYWORDS = {k.lower(): k for k in ("Any", "LocalSubnet", "LocalSubnet4", "LocalSubnet6")}
PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "any": "Any"}
RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
RULE_KEYS = {"name", "description", "action", "direction", "protocol", "local_ports",
             "remote_ports", "remote_addresses", "profiles", "enabled", "source"}
SRC_PROFILES = ("SRC-LRM-9", "SRC-CS-2", "SRC-PMR-1")


@dataclasses.dataclass(frozen=True)
class Rule:
    """A firewall rule in canonical form (what the plan compares)."""

    name: str
    action: str            # Allow | Block
    direction: str         # Inbound | Outbound
    protocol: str          # TCP | UDP | Any
    local_ports: tuple     # ("Any",) or sorted ("80", "8000-8010")
    remote_ports: tuple
    remote_addresses: tuple  # ("Any",) or sorted canonical addresses
    profiles: tuple        # ("Any",) or a sorted subset of Domain/Private/Public
    enabled: bool = True
    description: str = ""

    def render(self) -> str:
        ports = "" if self.protocol == "Any" else f" port {','.join(self.local_ports)}"
        if self.remote_ports != ("Any",):
            ports += f" remote port {','.join(self.remote_ports)}"
        state = "" if self.enabled else " (disabled)"
        return (f"{self.action.lower()} {self.direction.lower()} {self.protocol}{ports} "
                f"from {','.join(self.remote_addresses)} profiles {','.join(self.profiles)}{state}")

    def host_dict(self, group: str) -> dict:
        return {
            "name": self.name, "display_name": f"meddev: {self.name}", "description": self.description,
            "group": group, "direction": self.direction, "action": self.action,
            "enabled": self.enabled, "protocol": self.protocol, "local_ports": list(self.local_ports),
            "remote_ports": list(self.remote_ports), "remote_addresses": list(self.remote_addresses),
            "profiles": list(self.profiles),
        }

    def compare_key(self) -> tuple:
        return (self.action, self.direction, self.protocol, self.local_ports, self.remote_ports,
                self.remote_addresses, self.profiles, self.enabled)


@dataclasses.dataclass(frozen=True)
class DeclaredRule:
    rule: Rule
    control_id: str
    title: str
    source: tuple


@dataclasses.dataclass(frozen=True)
class Desired:
    state: str
    profiles_enabled: tuple
    default_inbound_block: tuple
    rules: tuple           # DeclaredRule, built-ins included
    exclusive: bool
    group: str
    management_networks: tuple
    prefix: str = ""       # names variables in errors: "firewall_" when called by the role
    management_ports: tuple = WINRM_PORTS  # what mgmt-winrm admits; the lockout guard keeps each of them open


# -- canonical forms -------------------------------------------------------------------------

def _port(text: str, variable: str) -> tuple:
    low, _sep, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        bounds = (0, 0)
    if not all(1 <= b <= 65535 for b in bounds) or bounds[0] > bounds[1] or not low.strip().isdigit():
        raise ArgumentError(variable, f"{text!r} is not a valid port; allowed: an integer 1-65535 "
                                      "or a range 'low-high' within 1-65535")
    return bounds


def _single_port(value, variable: str) -> int:
    low, high = _port(str(value).strip(), variable)
    if low != high:
        raise ArgumentError(variable, f"{value!r} is a range; allowed: single ports 1-65535")
    return low


def canonical_ports(value, variable: str) -> tuple:
    """Ports as Windows lists them: ("Any",) or sorted "80" / "8000-8010" strings."""
    if value in (None, "", [], ()):
        return ("Any",)
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(str(i).strip().lower() == "any" for i in items):
        return ("Any",)
    ranges = sorted({_port(str(i).strip(), variable) for i in items})
    return tuple(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def ports_cover(ports: tuple, port: int) -> bool:
    if ports == ("Any",):
        return True
    for item in ports:
        low, _sep, high = item.partition("-")
        if low.isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def _address(text: str, variable: str) -> str:
    keyword = ADDRESS_KEYWORDS.get(text.lower())
    if keyword:
        return keyword
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if low.version != high.version or low > high:
                raise ValueError(text)
            return f"{low}-{high}"
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ArgumentError(variable, f"{text!r} is not a valid address; allowed: an IPv4/IPv6 "
                                      "address, a CIDR such as 10.20.30.0/24 or fd00::/64, a range "
                                      "'a-b', or one of Any, LocalSubnet, LocalSubnet4, LocalSubnet6") from None
    single = network.prefixlen == network.max_prefixlen
    return str(network.network_address) if single else network.with_prefixlen


def canonical_addresses(value, variable: str) -> tuple:
    if value in (None, "", [], ()):
        return ("Any",)
    items = value if isinstance(value, (list, tuple)) else [value]
    canon = {_address(str(i).strip(), variable) for i in items}
    return ("Any",) if "Any" in canon else tuple(sorted(canon))


def canonical_profiles(value, variable: str) -> tuple:
    items = value if isinstance(value, (list, tuple)) else [value]
    names = set()
    for item in items:
        lowered = str(item).strip().lower()
        if lowered == "any":
            return ("Any",)
        if lowered not in PROFILES:
            raise ArgumentError(variable, f"{item!r} is not a firewall profile; allowed: "
                                          "domain, private, public, any")
        names.add(lowered)
    if not names or names == set(PROFILES):
        return ("Any",)
    return tuple(p.capitalize() for p in PROFILES if p in names)


def _choice(value, choices: dict, variable: str) -> str:
    key = str(value).strip().lower()
    if key not in choices:
        raise ArgumentError(variable, f"{value!r} is not allowed; allowed: {', '.join(choices)}")
    return choices[key]


def rule_from_host(item: dict) -> Rule:
    """Canonicalise a rule as the host module gathered it (Windows notation)."""
    protocol = PROTOCOLS.get(str(item.get("protocol", "Any")).lower(), str(item.get("protocol")))
    return Rule(
        name=item["name"], action=str(item.get("action", "")).capitalize(),
        direction=str(item.get("direction", "")).capitalize(), protocol=protocol,
        local_ports=canonical_ports(item.get("local_ports"), "host"),
        remote_ports=canonical_ports(item.get("remote_ports"), "host"),
        remote_addresses=canonical_addresses(item.get("remote_addresses"), "host"),
        profiles=canonical_profiles(item.get("profiles") or ["any"], "host"),
        enabled=bool(item.get("enabled", True)), description=item.get("description") or "",
    )


# -- validation --------------------------------------------------------------------------------

def _rule_from_args(item, variable: str) -> DeclaredRule:
    if not isinstance(item, dict):
        raise ArgumentError(variable, "each rule must be a dictionary")
    unknown = sorted(set(item) - RULE_KEYS)
    if unknown:
        raise ArgumentError(variable, f"unknown keys {unknown}; allowed: {', '.join(sorted(RULE_KEYS))}")
    name = str(item.get("name", ""))
    if not RULE_NAME.match(name):
        raise ArgumentError(f"{variable}.name", f"{name!r} is not a valid rule name; allowed: 1-64 "
                                                "characters A-Z a-z 0-9 . _ - starting with a letter or digit")
    protocol = _choice(item.get("protocol", "tcp"), PROTOCOLS, f"{variable}.protocol")
    local_ports = canonical_ports(item.get("local_ports"), f"{variable}.local_ports")
    remote_ports = canonical_ports(item.get("remote_ports"), f"{variable}.remote_ports")
    if protocol == "Any" and (local_ports, remote_ports) != (("Any",), ("Any",)):
        raise ArgumentError(f"{variable}.protocol", "ports need protocol tcp or udp; Windows rejects "
                                                    "port filters with protocol any")
    action = _choice(item.get("action", "allow"), {"allow": "Allow", "block": "Block"}, f"{variable}.action")
    if "remote_addresses" not in item and action == "Allow":
        raise ArgumentError(f"{variable}.remote_addresses", "allow rules must be scoped: list the "
                                                            "networks (CIDR, address, LocalSubnet) or Any explicitly")
    rule = Rule(
        name=name, action=action,
        direction=_choice(item.get("direction", "inbound"), {"inbound": "Inbound", "outbound": "Outbound"},
                          f"{variable}.direction"),
        protocol=protocol, local_ports=local_ports, remote_ports=remote_ports,
        remote_addresses=canonical_addresses(item.get("remote_addresses"), f"{variable}.remote_addresses"),
        profiles=canonical_profiles(item.get("profiles") or ["any"], f"{variable}.profiles"),
        enabled=as_bool(item.get("enabled"), f"{variable}.enabled", default=True),
        description=str(item.get("description", "")),
    )
    source = tuple(as_names(item.get("source"), f"{variable}.source", default=["SRC-CS-9", "SRC-LRM-10"]))
    return DeclaredRule(rule, f"FW-RULE-{name}", f"Firewall rule {name}: {rule.render()}", source)


def blocks_management(rule: Rule, ports=WINRM_PORTS) -> bool:
    return (rule.action == "Block" and rule.enabled and rule.protocol in ("TCP", "Any")
            and any(ports_cover(rule.local_ports, p) for p in ports))


def _builtin_rules(args: dict, management: tuple, mgmt_ports: tuple) -> list:
    rules = []
    if args.get("lrm_block_web"):
        for port, label in ((80, "HTTP"), (443, "HTTPS")):
            rule = Rule(f"lrm-block-{label.lower()}", "Block", "Inbound", "TCP", (str(port),), ("Any",),
                        ("Any",), ("Any",), True,
                        f"Illumina LRM fallback: block inbound {label} (SRC-LRM-9)")
            rules.append(DeclaredRule(rule, f"FW-LRM-BLOCK-{label}",
                                      f"Inbound TCP {port} ({label}) blocked for Local Run Manager",
                                      ("SRC-LRM-9", "SRC-LRM-7")))
    if management:
        rule = Rule("mgmt-winrm", "Allow", "Inbound", "TCP", tuple(str(p) for p in mgmt_ports), ("Any",),
                    management, ("Any",), True, "WinRM from the declared management networks")
        rules.append(DeclaredRule(rule, "FW-MGMT-WINRM",
                                  "WinRM allowed from the management networks", ("SRC-CS-9",)))
    return rules


def validate(args: dict, prefix: str = "") -> Desired:
    """Turn module options into a :class:`Desired`; raise :class:`ArgumentError` on bad input."""
    def var(name):
        return f"{prefix}{name}"

    state = str(args.get("state") or "present")
    if state not in ("present", "absent"):
        raise ArgumentError(var("state"), f"{state!r} is not allowed; allowed: present, absent")
    enabled = tuple(canonical_profile_names(args.get("profiles_enabled", list(PROFILES)), var("profiles_enabled")))
    block = tuple(canonical_profile_names(args.get("default_inbound_block") or [], var("default_inbound_block")))
    management = ()
    if args.get("management_networks"):
        management = canonical_addresses(args["management_networks"], var("management_networks"))
    mgmt_ports = tuple(sorted({_single_port(p, var("management_ports"))
                               for p in as_list(args.get("management_ports"), var("management_ports"),
                                                WINRM_PORTS)}))
    guarded = tuple(sorted(set(mgmt_ports) | set(WINRM_PORTS)))
    if block and not management:
        raise ArgumentError(var("management_networks"), f"{var('default_inbound_block')} blocks inbound "
                            f"traffic on {', '.join(block)} by default, which would cut off WinRM: declare "
                            "the networks management connects from (CIDR list) so the role allows WinRM first")
    raw_rules = args.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ArgumentError(var("rules"), "must be a list of rule dictionaries")
    declared = [_rule_from_args(item, f"{var('rules')}[{i}]") for i, item in enumerate(raw_rules)]
    for i, item in enumerate(declared):
        if blocks_management(item.rule, guarded):
            raise ArgumentError(f"{var('rules')}[{i}]", f"block rule {item.rule.name!r} covers the WinRM "
                                f"management ports {'/'.join(map(str, guarded))} and would lock out "
                                "management; narrow local_ports so it excludes them")
    lrm_block_web = as_bool(args.get("lrm_block_web"), var("lrm_block_web"))
    declared += _builtin_rules({"lrm_block_web": lrm_block_web}, management, mgmt_ports)
    names = [d.rule.name.lower() for d in declared]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ArgumentError(var("rules"), f"rule names must be unique (built-ins lrm-block-http, "
                                          f"lrm-block-https, mgmt-winrm included); duplicated: {duplicates}")
    group = str(args.get("rule_group") or DEFAULT_GROUP)
    if not RULE_NAME.match(group):
        raise ArgumentError(var("rule_group"), f"{group!r} is not a valid group name")
    exclusive = as_bool(args.get("exclusive"), var("exclusive"))
    return Desired(state, enabled, block, tuple(declared), exclusive, group, management, prefix,
                   management_ports=mgmt_ports)


def canonical_profile_names(value, variable: str) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        lowered = str(item).strip().lower()
        if lowered not in PROFILES:
            raise ArgumentError(variable, f"{item!r} is not a firewall profile; allowed: domain, private, public")
        if lowered not in out:
            out.append(lowered)
    return [p for p in PROFILES if p in out]


# -- plan ----------------------------------------------------------------------------------------

def effective_profiles(profiles: dict) -> dict:
    """Each profile's settings as the firewall applies them: Group Policy's value where it sets one.

    The host reports the local (PersistentStore) values, the effective (ActiveStore) ones, and which
    settings Group Policy sets (``set_by_gpo``); a local value GPO overrides is not in force.
    """
    out = {}
    for name, settings in (profiles or {}).items():
        merged = dict(settings)
        for key in gpo_settings(settings):
            merged[key] = (settings.get("effective") or {}).get(key, settings.get(key))
        out[name] = merged
    return out


def gpo_settings(settings: dict) -> set:
    return set(settings.get("set_by_gpo") or ()) & {"enabled", "default_inbound_action"}


def local_rules_applied(settings: dict) -> bool:
    """Does the firewall apply local rules on this profile? Not when AllowLocalFirewallRules is False
    ("Apply local firewall rules: No" in Group Policy): then only Group Policy's rules take effect there,
    this collection's own included (docset/winserver2019-ps/NetSecurity/Set-NetFirewallProfile.md,
    -AllowLocalFirewallRules)."""
    return (settings.get("effective") or {}).get("allow_local_firewall_rules", True) is not False


def inbound_rules_allowed(settings: dict) -> bool:
    """Does the firewall apply inbound rules on this profile? Not when AllowInboundRules is False ("Block all
    incoming connections", set locally or by Group Policy): then every inbound rule is ignored, Group Policy's
    and this collection's own included, and all inbound traffic follows DefaultInboundAction
    (docset/winserver2019-ps/NetSecurity/Set-NetFirewallProfile.md, -AllowInboundRules)."""
    return (settings.get("effective") or {}).get("allow_inbound_rules", True) is not False


def inbound_rules_ignored(profiles: dict) -> dict:
    """Profiles where inbound rules are ignored -> whether Group Policy is what sets that."""
    return {name: "allow_inbound_rules" in (profiles.get(name, {}).get("set_by_gpo") or ())
            for name in PROFILES if not inbound_rules_allowed(profiles.get(name) or {})}


def local_rules_ignored(profiles: dict) -> dict:
    """Profiles where local rules are not applied -> whether Group Policy is what sets that."""
    return {name: "allow_local_firewall_rules" in (profiles.get(name, {}).get("set_by_gpo") or ())
            for name in PROFILES if not local_rules_applied(profiles.get(name) or {})}


def _covers(rule: Rule, profile: str) -> bool:
    return rule.profiles == ("Any",) or profile.capitalize() in rule.profiles


def _ignored_message(names: list, ignored: dict) -> str:
    who = "Group Policy sets" if all(ignored[n] for n in names) else "the effective policy has"
    return (f"local rules are not applied: {who} AllowLocalFirewallRules=False on {', '.join(names)}, so this "
            "rule has no effect there; it is kept locally (it applies again if that changes): add the rule to the GPO")


def _inbound_ignored_message(names: list, ignored: dict) -> str:
    by_gpo, local = [n for n in names if ignored[n]], [n for n in names if not ignored[n]]
    who = " and ".join(([f"Group Policy sets AllowInboundRules=False on {', '.join(by_gpo)}"] if by_gpo else [])
                       + ([f"AllowInboundRules=False is set locally on {', '.join(local)}"] if local else []))
    return (f"inbound rules are ignored: {who} (block all incoming connections), so this rule has no effect there, "
            "nor has any other inbound rule, and inbound traffic follows the default inbound action; it is kept (it "
            "applies again if that changes): set AllowInboundRules True there (in the GPO where Group Policy sets "
            "it) for inbound rules to apply")


def _ineffective_message(rule: Rule, local_ignored: dict, inbound_ignored: dict) -> str:
    """Why an enabled rule has no effect on some profile it covers ("" when it applies everywhere it covers)."""
    if not rule.enabled:
        return ""
    reasons = []
    local = [p for p in PROFILES if p in local_ignored and _covers(rule, p)]
    if local:
        reasons.append(_ignored_message(local, local_ignored))
    inbound = [p for p in PROFILES if p in inbound_ignored and _covers(rule, p)] if rule.direction == "Inbound" else []
    if inbound:
        reasons.append(_inbound_ignored_message(inbound, inbound_ignored))
    return "; ".join(reasons)


def _gpo_control(control: Control, shown: str, ok: bool) -> Control:
    """A setting Group Policy owns: reported with its value, never changed here."""
    message = f"set by Group Policy: {shown}"
    if ok:
        return control.with_status(COMPLIANT, message)
    return control.with_status(MANUAL, f"{message}; a local change would have no effect, change the GPO")


def _profile_plan(desired: Desired, profiles: dict):
    controls, changes = [], []
    for name in PROFILES:
        local = profiles.get(name) or {}
        current = effective_profiles({name: local})[name]
        owned_by_gpo = gpo_settings(local)
        if name in desired.profiles_enabled:
            ok = bool(current.get("enabled"))
            control = Control(f"FW-PROFILE-{name.upper()}", f"Firewall enabled on the {name} profile",
                              SRC_PROFILES, "enabled", "enabled" if ok else "disabled",
                              COMPLIANT if ok else DRIFT)
            if "enabled" in owned_by_gpo:
                control = _gpo_control(control, f"Enabled={ok}", ok)
            controls.append(control)
            if control.status == DRIFT:
                changes.append(Change(control.id, "set_profile", {"profile": name, "enabled": True},
                                      "Enabled=False", "Enabled=True"))
        if name in desired.default_inbound_block:
            action = str(current.get("default_inbound_action") or "NotConfigured")
            ok = action == "Block"
            control = Control(f"FW-DEFAULT-BLOCK-{name.upper()}",
                              f"Inbound traffic blocked by default on the {name} profile",
                              ("SRC-PMR-1",), "DefaultInboundAction=Block", f"DefaultInboundAction={action}",
                              COMPLIANT if ok else DRIFT)
            if "default_inbound_action" in owned_by_gpo:
                control = _gpo_control(control, f"DefaultInboundAction={action}", ok)
            controls.append(control)
            if control.status == DRIFT:
                changes.append(Change(control.id, "set_profile",
                                      {"profile": name, "default_inbound_action": "Block"},
                                      f"DefaultInboundAction={action}", "DefaultInboundAction=Block"))
    return controls, changes


def _rule_plan(desired: Desired, owned: dict, keep_management, ignored: dict, inbound_ignored: dict):
    controls, creates, removes = [], [], []
    declared = {d.rule.name.lower(): d for d in desired.rules}
    if desired.state == "present":
        for item in desired.rules:
            current = owned.get(item.rule.name.lower())
            ok = current is not None and current.compare_key() == item.rule.compare_key()
            actual = "absent" if current is None else current.render()
            control = Control(item.control_id, item.title, item.source, item.rule.render(), actual,
                              COMPLIANT if ok else DRIFT)
            ineffective = _ineffective_message(item.rule, ignored, inbound_ignored)
            if ineffective:
                # In place it is manual, never compliant: only the GPO (or AllowInboundRules) can make it take
                # effect there. Missing or different it stays drift (it matters where it applies) and is fixed.
                control = control.with_status(MANUAL if ok else DRIFT, ineffective)
            controls.append(control)
            if not ok:
                kind = "create_rule" if current is None else "update_rule"
                params = {"rule": item.rule.host_dict(desired.group)}
                if current is not None and current.protocol != item.rule.protocol:
                    # Set-NetFirewallRule keeps the old ports on a protocol change (and Windows
                    # refuses ports with protocol Any): the rule is removed and created again.
                    params["rebuild"] = True
                creates.append(Change(control.id, kind, params, actual, item.rule.render()))
    absent = desired.state == "absent"
    for key, rule in sorted(owned.items()):
        if not absent and (not desired.exclusive or key in declared):
            continue
        control = Control(f"{'FW-REMOVE' if absent else 'FW-STALE'}-{rule.name}",
                          f"Rule {rule.name} owned by this collection removed",
                          ("SRC-LRM-4",) if absent else ("SRC-CS-9",), "absent", rule.render(), DRIFT)
        if rule.name == "mgmt-winrm" and keep_management(rule):
            # Removing it would cut WinRM off on a profile that blocks inbound by default.
            controls.append(control.with_status(MANUAL, "kept: a profile blocks inbound traffic by "
                                                "default and this rule admits WinRM; remove it by hand "
                                                "once another WinRM allow rule exists"))
            continue
        controls.append(control)
        removes.append(Change(control.id, "remove_rule", {"name": rule.name}, rule.render(), "absent"))
    return controls, creates, removes


def admits_winrm(rule: Rule, ports=WINRM_PORTS) -> bool:
    # WinRM clients connect from an ephemeral port: a rule limited to some remote ports admits none of them.
    return (rule.action == "Allow" and rule.direction == "Inbound" and rule.enabled
            and rule.protocol in ("TCP", "Any") and rule.remote_ports == ("Any",)
            and any(ports_cover(rule.local_ports, p) for p in ports))


def _blocks_by_default(settings: dict) -> bool:
    """NotConfigured is Windows' default inbound action, Block; a disabled profile set to Block may be re-enabled."""
    action = settings.get("default_inbound_action") or "NotConfigured"
    return action == "Block" or (bool(settings.get("enabled")) and action != "Allow")


def _management_needed(rule: Rule, profiles: dict, foreign: list) -> bool:
    """Would removing ``rule`` (mgmt-winrm) block some connection it admits on a profile that blocks by default?

    Only foreign allow rules open to every address and client port can take over from it; the
    management networks may be anywhere, so a narrower rule is not enough.
    """
    for name in PROFILES:
        if not _blocks_by_default(profiles.get(name) or {}):
            continue
        if rule.profiles != ("Any",) and name.capitalize() not in rule.profiles:
            continue
        others = [r for r in foreign if r.remote_addresses == ("Any",)
                  and (r.profiles == ("Any",) or name.capitalize() in r.profiles)]
        for item in rule.local_ports:
            low, _sep, high = item.partition("-")
            if not low.isdigit() or int(high or low) - int(low) > 64:
                return True  # Any or a wide range: keep it rather than reason about it
            if not all(any(admits_winrm(r, (port,)) for r in others) for port in range(int(low), int(high or low) + 1)):
                return True
    return False


def _span(text: str) -> tuple:
    """First and last address of a canonical address entry (not a keyword)."""
    if "-" in text:
        low, high = text.split("-", 1)
        return ipaddress.ip_address(low), ipaddress.ip_address(high)
    network = ipaddress.ip_network(text, strict=False)
    return network.network_address, network.broadcast_address


def _admits_source(rule: Rule, source: str) -> bool:
    """Does the rule admit every address of the management network entry ``source``? One rule entry must
    hold it whole (stricter than Windows, which may need several); a keyword only by the same keyword."""
    if rule.remote_addresses == ("Any",) or source in rule.remote_addresses:
        return True
    if source in ADDRESS_KEYWORDS.values():
        return False
    low, high = _span(source)
    for entry in rule.remote_addresses:
        if entry in ADDRESS_KEYWORDS.values():
            continue
        first, last = _span(entry)
        if first.version == low.version and first <= low and high <= last:
            return True
    return False


def _winrm_open(profile: str, settings: dict, rules, gpo_rules=(), *, ports=WINRM_PORTS, source=None) -> bool:
    """Would a WinRM connection (to one of ``ports``, from every address of ``source`` if given) arriving on
    ``profile`` get through? ``rules`` are local rules, which count only where the profile applies local
    rules; ``gpo_rules`` are Group Policy's."""
    blocks = settings.get("enabled") and settings.get("default_inbound_action", "NotConfigured") != "Allow"
    counted = [*rules, *gpo_rules] if local_rules_applied(settings) else list(gpo_rules)
    if not inbound_rules_allowed(settings):
        counted = []  # AllowInboundRules False: no rule admits anything, the default action decides
    return not blocks or any(admits_winrm(r, ports) and _covers(r, profile)
                             and (source is None or _admits_source(r, source)) for r in counted)


def _management_cut(desired: Desired, profile: str, before: dict, after: dict, rules: tuple) -> str:
    """A management port and network that the plan turns from admitted to blocked on ``profile``, as text
    ("" if none). Where local rules apply mgmt-winrm admits them all; elsewhere only Group Policy's rules can."""
    (old_rules, new_rules), gpo = rules[:2], rules[2]
    for port in desired.management_ports:
        for source in desired.management_networks:
            if (_winrm_open(profile, before, old_rules, gpo, ports=(port,), source=source)
                    and not _winrm_open(profile, after, new_rules, gpo, ports=(port,), source=source)):
                return f"TCP {port} from {source}"
    return ""


def _culprit(profile: str, before: dict, changed: dict, rules, gpo_rules) -> tuple:
    """The profile setting change that blocks WinRM (only such a change can where rules are ignored):
    enabling the profile when that alone blocks it, else the default inbound block. (variable, what)"""
    if changed.get("enabled") and not _winrm_open(profile, {**before, "enabled": True}, rules, gpo_rules):
        return "profiles_enabled", f"enabling the {profile} profile"
    if changed.get("default_inbound_action") == "Block":
        return "default_inbound_block", f"DefaultInboundAction=Block on the {profile} profile"
    return "profiles_enabled", f"enabling the {profile} profile"


def _inbound_lockout(desired: Desired, profile: str, culprit: tuple, by_gpo: bool) -> ArgumentError:
    """The refusal when a profile that ignores inbound rules (AllowInboundRules False) would start blocking WinRM."""
    variable, what = culprit
    who = "Group Policy sets" if by_gpo else "the host has (set locally)"
    where = ("in the GPO that sets it" if by_gpo
             else f"Set-NetFirewallProfile -Name {profile.capitalize()} -AllowInboundRules True")
    return ArgumentError(
        f"{desired.prefix}{variable}",
        f"{what} would block inbound WinRM (TCP 5985/5986): {who} AllowInboundRules=False on that profile "
        "(block all incoming connections), so every inbound allow rule is ignored there, mgmt-winrm and Group "
        "Policy's included, and WinRM gets through only while the profile is off or allows inbound traffic by "
        f"default. Remove {profile} from {desired.prefix}{variable}, or allow inbound rules on that profile first "
        f"({where})")


def _ignored_lockout(desired: Desired, profile: str, culprit: tuple, cut: str = "") -> ArgumentError:
    """The refusal when a profile that ignores local rules would start blocking WinRM (only a profile
    setting can do that there): name the variable behind the setting."""
    variable, what = culprit
    missing = f"admits {cut} (a management port and network)" if cut else "admits WinRM"
    return ArgumentError(
        f"{desired.prefix}{variable}", f"{what} would block inbound WinRM ({cut or 'TCP 5985/5986'}): Group Policy "
        f"does not apply local firewall rules there (AllowLocalFirewallRules=False), so mgmt-winrm and every other "
        f"local rule have no effect, and no Group Policy rule {missing} on that profile. Remove {profile} from "
        f"{desired.prefix}{variable}, or have the GPO admit WinRM from the management networks (or apply local "
        "rules) first")


def _foreign_rules(gathered: dict) -> tuple:
    """``winrm_rules`` split into local ones and Group Policy's. Another source (the ActiveStore has a few)
    counts as local: stricter where local rules are not applied."""
    local, gpo = [], []
    for item in gathered.get("winrm_rules") or []:
        (gpo if item.get("policy_store_source_type") == "GroupPolicy" else local).append(rule_from_host(item))
    return local, gpo


def _lockout_guard(desired: Desired, gathered: dict, owned: dict, changes: list, *, removes: list, rebuilds: list):
    """Refuse a plan that turns WinRM from admitted to blocked on any profile, at its end or while
    a rebuilt rule is absent (an update that changes the protocol removes the rule, then creates
    it again under its name).

    Profile settings are the effective ones (Group Policy's where it sets them; the plan never
    changes those); WinRM rules pushed by Group Policy are among ``winrm_rules`` and count. On a
    profile that does not apply local rules only those count (see :func:`local_rules_applied`); on one
    that ignores inbound rules none does (see :func:`inbound_rules_allowed`).
    """
    foreign, gpo = _foreign_rules(gathered)
    removed = {c.params["name"].lower() for c in removes}
    replaced = {c.params["rule"]["name"].lower() for c in rebuilds}
    after = {k: r for k, r in owned.items() if k not in removed}
    if desired.state == "present":
        after.update({d.rule.name.lower(): d.rule for d in desired.rules})
    # Rebuilds run after every create and in-place update, before profile changes and removals.
    during = {k: r for k, r in {**owned, **after}.items() if k not in replaced}
    profiles = effective_profiles(gathered.get("profiles") or {})
    for name in PROFILES:
        before = dict(profiles.get(name) or {})
        changed = {}
        for change in changes:
            if change.kind == "set_profile" and change.params["profile"] == name:
                changed.update({k: v for k, v in change.params.items() if k != "profile"})
        settings = {**before, **changed}
        if not _winrm_open(name, before, foreign + list(owned.values()), gpo):
            continue
        cut = "" if not _winrm_open(name, settings, foreign + list(after.values()), gpo) else _management_cut(
            desired, name, before, settings, (foreign + list(owned.values()), foreign + list(after.values()), gpo))
        if cut or not _winrm_open(name, settings, foreign + list(after.values()), gpo):
            culprit = _culprit(name, before, changed, foreign + list(after.values()), gpo)
            if not inbound_rules_allowed(settings):
                by_gpo = "allow_inbound_rules" in (before.get("set_by_gpo") or ())
                raise _inbound_lockout(desired, name, culprit, by_gpo)
            if not local_rules_applied(settings):
                raise _ignored_lockout(desired, name, culprit, cut)
            raise ArgumentError(f"{desired.prefix}management_networks", f"this change would block inbound WinRM (TCP "
                                f"5985/5986) on the {name} profile: after it, no enabled inbound allow "
                                "rule for WinRM covers that profile. Declare the networks management "
                                "connects from so a WinRM allow rule is created first")
        if replaced and not _winrm_open(name, before, foreign + list(during.values()), gpo):
            raise ArgumentError(f"{desired.prefix}management_networks", f"changing the protocol of rule "
                                f"{', '.join(sorted(replaced))} removes and re-creates it, and while it is absent no "
                                f"other enabled inbound allow rule admits WinRM (TCP 5985/5986) on the {name} profile. "
                                "Declare the networks management connects from (a WinRM allow rule is created "
                                f"first), or keep the protocol of {desired.prefix}rules")


def plan(desired: Desired, gathered: dict) -> Plan:
    """Compare desired and gathered state; return the controls and the ordered changes."""
    owned = {}
    for item in gathered.get("rules") or []:
        if str(item.get("group", "")) == desired.group:
            rule = rule_from_host(item)
            owned[rule.name.lower()] = rule
    local_profiles = gathered.get("profiles") or {}
    profiles = effective_profiles(local_profiles)
    controls, changes = [], []
    if desired.state == "present":
        controls, changes = _profile_plan(desired, local_profiles)
    # Absent: mgmt-winrm is kept as before, also where local rules are not applied (the GPO may change).
    foreign = [rule_from_host(r) for r in gathered.get("winrm_rules") or []]
    rule_controls, rule_changes, removes = _rule_plan(
        desired, owned, keep_management=lambda rule: _management_needed(rule, profiles, foreign),
        ignored=local_rules_ignored(local_profiles), inbound_ignored=inbound_rules_ignored(local_profiles))
    creates = [c for c in rule_changes if not c.params.get("rebuild")]
    rebuilds = [c for c in rule_changes if c.params.get("rebuild")]
    _lockout_guard(desired, gathered, owned, changes, removes=removes, rebuilds=rebuilds)
    gpo_rules = sorted(r["name"] for r in gathered.get("winrm_rules") or []
                       if r.get("policy_store_source_type") == "GroupPolicy")
    # Order matters for safety: allow rules first (rebuilds once every new rule exists), then
    # profiles, removals last.
    return Plan(tuple(rule_controls + controls), tuple(creates + rebuilds + changes + removes),
                facts={"gpo_winrm_rules": gpo_rules} if gpo_rules else {})
