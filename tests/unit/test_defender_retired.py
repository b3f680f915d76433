"""SRC-LRM-6 misread: C:\\Illumina is exempted from the Software Restriction Policy, never a Defender exclusion.

Also ImageView: refused by product like DirectView (host-based IPS, SRC-CS-4)."""

import json
import pathlib

import pytest
import yaml

from ansible_collections.meddev.hardening.plugins.inventory import customers
from ansible_collections.meddev.hardening.plugins.module_utils import defender
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECORD = r"C:\ProgramData\meddev.hardening\defender_exclusions.json"
RETIRED = [{"kind": "path", "value": r"C:\Illumina", "source": ["SRC-LRM-6"], "reason": "SRP, not antivirus"}]


def desired(exclusions=(), **args):
    return defender.validate({"exclusions": list(exclusions), "owner_record": RECORD, "retired": RETIRED, **args},
                             "av_exclusions_")


def host(paths=(), owned=()):
    return {"defender": {"available": True, "running_mode": "Normal"},
            "exclusions": {"path": list(paths), "process": [], "extension": []},
            "policy": {"path": [], "process": [], "extension": []}, "third_party": [],
            "owned_text": json.dumps({"exclusions": [{"kind": "path", "value": v} for v in owned]}),
            "environment": {}}


def test_the_role_no_longer_adds_an_exclusion_citing_srp_source():
    # Failed before: the illumina_lrm profile added C:\Illumina citing SRC-LRM-6.
    profiles = yaml.safe_load((ROOT / "roles/av_exclusions/vars/main.yml").read_text())["av_exclusions_profiles"]
    assert "illumina_lrm" not in profiles
    assert "SRC-LRM-6" not in json.dumps(profiles)
    defaults = yaml.safe_load((ROOT / "roles/av_exclusions/defaults/main.yml").read_text())
    assert "av_exclusions_illumina_folder" not in defaults


def test_illumina_exclusion_this_collection_added_is_removed_with_its_reason():
    plan = defender.plan(desired(products=["illumina_lrm"]), host(paths=["c:\\illumina\\"], owned=[r"C:\Illumina"]))
    control = {c.id: c for c in plan.controls}[r"AV-RETIRED-PATH:C:\Illumina"]
    assert control.status == "drift" and control.source == ("SRC-LRM-6",) and "SRP" in control.message
    removes = [c for c in plan.changes if c.kind == "remove"]
    assert [c.params["value"] for c in removes] == ["c:\\illumina\\"]  # named as the host stores it
    record = json.loads(plan.changes[-1].params["content"])
    assert plan.changes[-1].kind == "record_owned" and record["exclusions"] == []
    assert plan.facts["exclusions_changed"][0]["source"] == ["SRC-LRM-6"]


def test_illumina_exclusion_someone_else_set_is_reported_not_removed():
    plan = defender.plan(desired(), host(paths=[r"C:\Illumina"]))
    control = {c.id: c for c in plan.controls}[r"AV-RETIRED-PATH:C:\Illumina"]
    assert control.status == "manual" and "not added by this collection" in control.message
    assert plan.changes == ()


def test_absent_or_declared_retired_exclusion_says_nothing():
    assert not [c for c in defender.plan(desired(), host()).controls if c.id.startswith("AV-RETIRED")]
    # A site that declares it itself (av_exclusions_extra, its own source) keeps it.
    declared = [{"kind": "path", "value": r"C:\Illumina", "source": ["SITE-1"]}]
    plan = defender.plan(desired(declared), host(paths=[r"C:\Illumina"], owned=[r"C:\Illumina"]))
    assert not [c for c in plan.controls if c.id.startswith("AV-RETIRED")] and plan.changes == ()


def test_retired_items_are_validated():
    with pytest.raises(ArgumentError) as error:
        defender.validate({"owner_record": RECORD, "retired": [{"kind": "path", "value": "relative"}]},
                          "av_exclusions_")
    assert error.value.variable == "av_exclusions_retired[0].value"
    with pytest.raises(ArgumentError) as error:
        bad = {"kind": "path", "value": "C:\\a\nb", "variable": "av_exclusions_illumina_folder"}
        defender.validate({"owner_record": RECORD, "retired": [bad]}, "")
    assert error.value.variable == "av_exclusions_illumina_folder"


@pytest.mark.parametrize(("product", "source"), [
    ("carestream_imageview", "SRC-CS-4"), ("carestream_directview", "SRC-CS-6")])
def test_carestream_consoles_with_host_ips_are_refused_by_product(product, source):
    # Failed before for ImageView: its declared Carestream exclusions were added.
    items = [{"kind": "path", "value": r"D:\CSImages", "source": ["SRC-CS-5"], "product": product}]
    plan = defender.plan(desired(items, products=[product]), host(paths=[r"C:\Illumina"], owned=[r"C:\Illumina"]))
    assert plan.changes == ()
    assert [c.id for c in plan.controls] == ["AV-SUPPORTED"]
    assert plan.controls[0].status == "not_applicable" and plan.controls[0].source == (source,)
    assert source in plan.controls[0].message


@pytest.mark.parametrize("product", ["carestream_imageview", "carestream_directview", "philips_mr"])
def test_vendor_locked_products_are_audit_only_in_the_customers_inventory(product):
    # Failed before for ImageView: only DirectView and Philips MR were audit-only by product.
    tree = [{"id": "st_anna", "sites": [{"id": "st_anna_rad", "hosts": [
        {"name": "iv-01.example", "address": "10.0.0.9", "products": [product]}]}]}]
    (record,) = customers.hosts_from(tree, "x.customers.yml")
    assert record["vars"]["meddev_enforce"] is False and "audit_only" in record["groups"]


@pytest.mark.parametrize(("name", "words"), [
    ("Kaspersky Endpoint Security for Windows", ["Scan exclusions", "support.kaspersky.com/KESWin"]),
    ("McAfee/Trellix", ["On-Access Scan policy > Exclusions", "Also exclude subfolders"]),
])
def test_third_party_antivirus_gets_that_products_own_exclusion_steps(name, words):
    # Failed before: only "add in <name>'s own console" whatever the product.
    state = {**host(), "third_party": [{"name": name, "source": "SecurityCenter2"}]}
    items = [{"kind": "path", "value": r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe", "source": ["SRC-IQW-9"]}]
    control = {c.id: c for c in defender.plan(desired(items), state).controls}["AV-THIRD-PARTY"]
    assert control.status == "manual" and r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe" in control.message
    assert all(word in control.message for word in words), control.message


def test_unknown_third_party_product_gets_the_plain_list():
    state = {**host(), "third_party": [{"name": "ESET", "source": "service ekrn"}]}
    control = {c.id: c for c in defender.plan(desired([{"kind": "process", "value": "x.exe", "source": ["S-1"]}]),
                                              state).controls}["AV-THIRD-PARTY"]
    assert control.message == "add in ESET's own console: process x.exe"


def test_imageview_profile_gathered_by_the_twin_is_refused_and_left_untouched(tmp_path):
    from ansible_collections.meddev.hardening.plugins.module_utils import winsim
    from ansible_collections.meddev.hardening.plugins.modules import defender_exclusion as twin
    from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles
    host = winsim.seed(tmp_path / "iv", "carestream_imageview", winsim_profiles.load("carestream_imageview"))
    state = twin.gather(host, {"owner_record": RECORD, "third_party_services": defender.THIRD_PARTY_SERVICES})
    items = [{"kind": "path", "value": r"D:\CSImages", "source": ["SRC-CS-5"]}]
    plan = defender.plan(desired(items, products=["carestream_imageview"]), state)
    assert plan.changes == () and plan.controls[0].id == "AV-SUPPORTED" and "SRC-CS-4" in plan.controls[0].message
