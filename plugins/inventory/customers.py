# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory of a distributor's customers: customers -> sites -> hosts, from one YAML file."""

from __future__ import annotations

DOCUMENTATION = r"""
name: customers
short_description: Customers, sites and medical-device hosts from a *.customers.yml file
version_added: 0.1.0
description:
  - Reads a file whose name ends in C(.customers.yml) or C(.customers.yaml) listing customers, their
    sites and the Windows hosts there, each with its products, WinRM endpoint and whether it is
    audit-only, and builds the groups C(customer_<id>), C(site_<id>), C(product_<name>) and
    C(audit_only), and the variables the roles read (C(meddev_customer), C(meddev_site),
    C(meddev_products), C(meddev_enforce)) plus the WinRM connection (HTTPS, certificate validated).
  - Bad input fails with the file, the entry and what is wrong (duplicate host, unknown product,
    missing endpoint, duplicate site id).
  - Supports C(compose), C(groups), C(keyed_groups) and inventory caching.
author:
  - meddev.hardening contributors
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [meddev.hardening.customers]
    type: str
  customers:
    description:
      - The customers, each with C(id), C(name), C(sites) (each with C(id), C(name), C(hosts)).
      - A host has C(name), C(address) (the WinRM endpoint), C(products), optional C(port) (5986),
        C(audit_only) (false) and C(vars) (more host variables).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
# hospitals.customers.yml
plugin: meddev.hardening.customers
customers:
  - id: st_anna
    name: St. Anna Hospital
    sites:
      - id: st_anna_genomics
        name: Genomics lab
        hosts:
          - {name: miseq-01.st-anna.example, address: 10.1.2.10, products: [illumina_lrm]}
keyed_groups:
  - key: meddev_products
    prefix: uses
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

PRODUCTS = ("illumina_lrm", "iqwebx", "carestream_imagesuite", "carestream_imageview", "carestream_directview",
            "philips_mr")
# Vendor-locked by product, only ever read: DirectView (SRC-CS-6) and ImageView (the same host-based IPS,
# SRC-CS-4), Philips MR consoles (SRC-PMR-13).
AUDIT_ONLY_PRODUCTS = ("carestream_directview", "carestream_imageview", "philips_mr")
IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
CONNECTION = {"ansible_connection": "winrm", "ansible_winrm_scheme": "https",
              "ansible_winrm_server_cert_validation": "validate"}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "meddev.hardening.customers"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".customers.yml", ".customers.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                records = None
        if records is None:
            records = hosts_from(self.get_option("customers"), path)
            if self.get_option("cache"):
                self._cache[cache_key] = records
        self._populate(records)

    def _populate(self, records):
        strict = self.get_option("strict")
        for record in records:
            name, hostvars = record["name"], record["vars"]
            self.inventory.add_host(name)
            for group in record["groups"]:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)


def _fail(path, where, what):
    raise AnsibleParserError(f"{path}: {where}: {what}")


def hosts_from(customers, path) -> list:
    """Validate the customers tree and flatten it into host records (pure; unit-tested)."""
    if not isinstance(customers, list) or not customers:
        _fail(path, "customers", "must be a non-empty list of customers")
    records, seen_hosts, seen_sites, seen_customers = [], {}, {}, set()
    for c_index, customer in enumerate(customers):
        where = f"customers[{c_index}]"
        cid = str((customer or {}).get("id", ""))
        if not IDENT.match(cid):
            _fail(path, where, f"id {cid!r} must be lower case letters, digits and _ (it names group customer_<id>)")
        if cid in seen_customers:
            _fail(path, where, f"customer id {cid!r} is used twice")
        seen_customers.add(cid)
        for s_index, site in enumerate(customer.get("sites") or []):
            s_where = f"{where} ({cid}).sites[{s_index}]"
            sid = str((site or {}).get("id", ""))
            if not IDENT.match(sid):
                _fail(path, s_where, f"id {sid!r} must be lower case letters, digits and _ (group site_<id>)")
            if sid in seen_sites:
                _fail(path, s_where, f"site id {sid!r} is already used by customer {seen_sites[sid]}")
            seen_sites[sid] = cid
            for h_index, host in enumerate(site.get("hosts") or []):
                records.append(_host(path, f"{s_where} ({sid}).hosts[{h_index}]", host, cid=cid, sid=sid,
                                     seen=seen_hosts))
    return records


def _host(path, where, host, *, cid, sid, seen) -> dict:
    if not isinstance(host, dict):
        _fail(path, where, "must be a mapping with name, address, products")
    name = str(host.get("name", ""))
    if not HOSTNAME.match(name):
        _fail(path, where, f"name {name!r} is not a host name")
    if name.lower() in seen:
        _fail(path, where, f"host {name} is already listed at {seen[name.lower()]}")
    seen[name.lower()] = where
    address = str(host.get("address") or "")
    if not address:
        _fail(path, where, f"host {name} has no address: the WinRM endpoint (name or IP) is required")
    products = host.get("products") or []
    unknown = sorted(set(products) - set(PRODUCTS))
    if unknown or not products:
        _fail(path, where, f"host {name}: products {unknown or products!r} not allowed; allowed: {', '.join(PRODUCTS)}")
    try:
        port = int(host.get("port", 5986))
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        _fail(path, where, f"host {name}: port {host.get('port')!r} is not a TCP port")
    audit_only = bool(host.get("audit_only", False)) or bool(set(products) & set(AUDIT_ONLY_PRODUCTS))
    hostvars = {**CONNECTION, **(host.get("vars") or {}), "ansible_host": address, "ansible_port": port,
                "meddev_customer": cid, "meddev_site": sid, "meddev_products": list(products),
                "meddev_enforce": not audit_only}
    groups = [f"customer_{cid}", f"site_{sid}", *(f"product_{p}" for p in products)]
    if audit_only:
        groups.append("audit_only")
    return {"name": name, "vars": hostvars, "groups": groups}
