"""baseline_product_conflicts, the medical-device compatibility table: its shape, that every entry names a real
control and the vendor requirement it protects, that the planner excepts exactly those controls on hosts with the
product, and that docs/baseline-compatibility.md shows the table and only usable baseline_skip snippets."""

import csv
import pathlib
import re

import pytest
import yaml
from reliability.rendered_catalog import render_catalog

from ansible_collections.meddev.hardening.plugins.module_utils import baseline

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = ROOT / "roles/baseline/defaults/main"
DOC = ROOT / "docs/baseline-compatibility.md"
VENDOR_NOTES = ROOT.parent / "shared/VENDOR_NOTES.md"
ANCHORS = ROOT / "tests/fixtures/microsoft-security-baseline"
PRODUCTS = ("illumina_lrm", "iqwebx", "carestream_imagesuite", "carestream_directview", "carestream_imageview",
            "philips_mr")
# Each product's reasons name the product; each product cites its own vendor's document.
PRODUCT_WORDS = {"illumina_lrm": ("LRM", "Local Run Manager"), "iqwebx": ("iQ-WEBX", "iQ-WEB"),
                 "carestream_imagesuite": ("Image Suite",), "carestream_directview": ("DirectView",),
                 "carestream_imageview": ("ImageView",),
                 "philips_mr": ("MR console", "Philips")}
PRODUCT_DOCUMENT = {"illumina_lrm": "LRM", "iqwebx": "IQW", "carestream_imagesuite": "CS",
                    "carestream_directview": "CS", "carestream_imageview": "CS", "philips_mr": "PMR"}


def load(name: str) -> dict:
    return yaml.safe_load((DEFAULTS / name).read_text(encoding="utf-8"))


TABLE = load("product_conflicts.yml")["baseline_product_conflicts"]
ENTRIES = [(product, item) for product, items in TABLE.items() for item in items]


def ms_catalog() -> list:
    """H1's generated catalog; before it exists, one id per row of Microsoft's CSVs ("MS-" + Name)."""
    if (DEFAULTS / "ms_baseline.yml").exists():
        return load("ms_baseline.yml")["baseline_ms_catalog"]
    if not ANCHORS.is_dir():
        pytest.skip("neither ms_baseline.yml nor the Microsoft baseline CSVs are here")
    names = []
    for path in sorted(ANCHORS.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            names += [row["Name"] for row in csv.DictReader(handle)]
    return [{"id": f"MS-{name}"} for name in names]


def catalog_ids() -> set:
    return {e["id"] for e in ms_catalog()} | {e["id"] for e in load("main.yml")["baseline_catalog"]}


def vendor_ids() -> set:
    sources = yaml.safe_load((ROOT / "plugins/plugin_utils/vendor_sources.yml").read_text(encoding="utf-8"))
    return set(sources["requirements"])


def test_the_table_is_a_role_default_of_the_five_products_with_id_source_and_reason():
    assert list(load("product_conflicts.yml")) == ["baseline_product_conflicts"]
    assert set(TABLE) == set(PRODUCTS)
    for product, item in ENTRIES:
        assert set(item) == {"id", "source", "reason"}, (product, item)
        assert all(isinstance(item[key], str) for key in item), (product, item)
    # Not in vars/, which would outrank the inventory's group_vars/host_vars.
    assert not [p for p in ROOT.glob("roles/baseline/vars/*.yml") if "baseline_product_conflicts" in p.read_text()]


def test_every_id_is_a_catalog_control_listed_once_per_product():
    known = catalog_ids()
    for product, items in TABLE.items():
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)), f"{product}: duplicate ids"
        unknown = sorted(set(ids) - known)
        assert not unknown, f"{product}: not in baseline_ms_catalog or baseline_catalog: {unknown}"


def test_every_source_is_a_requirement_of_that_products_vendor_that_the_report_can_print():
    documented = vendor_ids()
    notes = VENDOR_NOTES.read_text(encoding="utf-8") if VENDOR_NOTES.exists() else ""
    for product, item in ENTRIES:
        source = item["source"]
        assert re.fullmatch(rf"SRC-{PRODUCT_DOCUMENT[product]}-\d+", source), (product, item["id"], source)
        assert source in documented, f"{source} is missing from plugins/plugin_utils/vendor_sources.yml"
        if notes:
            assert re.search(rf"\b{source}\b", notes), f"{source} is not in VENDOR_NOTES.md"


def test_every_reason_is_one_printable_sentence_naming_the_products_need():
    for product, item in ENTRIES:
        reason = item["reason"]
        assert reason.strip() and reason.isprintable() and len(reason) <= 200, (product, item["id"])
        assert any(word in reason for word in PRODUCT_WORDS[product]), (product, item["id"], reason)
        assert "SRC-" not in reason, "the report prints the source already"


def planner_catalog() -> list:
    """The vendor catalog as the role renders it plus the Microsoft entries (stand-ins before H1's file)."""
    ms = ms_catalog()
    if "mechanism" not in ms[0]:
        ms = [{"id": e["id"], "title": e["id"], "ms_name": f"X:{e['id']}", "source": ["SRC-PMR-2"],
               "mechanism": "registry", "type": "dword", "path": "HKLM\\SOFTWARE\\X", "name": e["id"],
               "values": {"workgroup": 1, "member_server": 1}} for e in ms]
    return render_catalog() + ms


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_host_with_the_product_reports_each_conflict_not_applicable_with_source_and_reason(product):
    catalog = planner_catalog()
    args = {"catalog": catalog, "profile": "member_server", "product_conflicts": TABLE}
    excepted = {e.id: e.excepted for e in baseline.validate({**args, "products": [product]}, "baseline_").entries}
    expected = {i["id"]: f"conflicts with {i['source']} ({product}): {i['reason']}" for i in TABLE[product]}
    assert {cid: excepted[cid] for cid in expected} == expected
    plain = {e.id: e.excepted for e in baseline.validate({**args, "products": []}, "baseline_").entries}
    assert not [cid for cid, why in plain.items() if why.startswith("conflicts with")]


def doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start:] if end < 0 else text[start:end]


def test_the_doc_shows_every_entry_under_its_product_with_its_source():
    text = DOC.read_text(encoding="utf-8")
    for product, items in TABLE.items():
        heading = text.index(f"(`{product}`)")
        section = text[heading:text.find("\n### ", heading + 1)]
        for item in items:
            assert f"`{item['id']}`" in section, (product, item["id"])
            assert item["source"] in section, (product, item["source"])


def snippets() -> list:
    return re.findall(r"```yaml\n(.*?)```", doc_section("## Known to break such software"), re.S)


def test_every_known_to_break_snippet_is_a_usable_baseline_skip_of_existing_controls():
    known, found = catalog_ids(), snippets()
    assert len(found) >= 5
    for text in found:
        data = yaml.safe_load(text)
        assert list(data) == ["baseline_skip"], text
        for item in data["baseline_skip"]:
            assert set(item) == {"id", "reason"}, item
            assert item["id"] in known, f"{item['id']} is not a catalog control"
            reason = item["reason"]
            assert reason.strip() and reason.isprintable() and len(reason) <= 200, item  # baseline_skip's limits
