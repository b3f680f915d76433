"""The customers inventory: groups and variables, and precise errors for broken files."""

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.meddev.hardening.plugins.inventory.customers import hosts_from


def tree(**host):
    return [{"id": "st_anna", "sites": [{"id": "st_anna_lab", "hosts": [
        {"name": "miseq-01.example", "address": "10.0.0.1", "products": ["illumina_lrm"], **host}]}]}]


def test_groups_and_variables():
    (record,) = hosts_from(tree(), "x.customers.yml")
    assert record["groups"] == ["customer_st_anna", "site_st_anna_lab", "product_illumina_lrm"]
    v = record["vars"]
    assert (v["ansible_host"], v["ansible_port"], v["ansible_connection"]) == ("10.0.0.1", 5986, "winrm")
    assert v["ansible_winrm_server_cert_validation"] == "validate" and v["ansible_winrm_scheme"] == "https"
    assert (v["meddev_customer"], v["meddev_site"], v["meddev_enforce"]) == ("st_anna", "st_anna_lab", True)


def test_vendor_locked_products_are_audit_only():
    (record,) = hosts_from(tree(products=["philips_mr"]), "x.customers.yml")
    assert "audit_only" in record["groups"] and record["vars"]["meddev_enforce"] is False


@pytest.mark.parametrize(("customers", "message"), [
    (tree(products=["illumina"]), "customers[0] (st_anna).sites[0] (st_anna_lab).hosts[0]: host miseq-01.example: "
                                  "products ['illumina'] not allowed"),
    (tree(address=""), "has no address"),
    (tree(port=99999), "is not a TCP port"),
    (tree(name="bad name!"), "is not a host name"),
    ([*tree(), {"id": "other", "sites": [{"id": "other_lab", "hosts": [
        {"name": "MISEQ-01.example", "address": "10.0.0.2", "products": ["iqwebx"]}]}]}],
     "customers[1] (other).sites[0] (other_lab).hosts[0]: host MISEQ-01.example is already listed at customers[0]"),
    ([*tree(), {"id": "other", "sites": [{"id": "st_anna_lab", "hosts": []}]}], "already used by customer st_anna"),
    ([{"id": "St Anna", "sites": []}], "customers[0]: id 'St Anna'"),
    ([], "non-empty list"),
])
def test_broken_files_name_file_entry_and_problem(customers, message):
    with pytest.raises(AnsibleParserError) as error:
        hosts_from(customers, "/srv/hospitals.customers.yml")
    assert str(error.value).startswith("/srv/hospitals.customers.yml: ") and message in str(error.value)
