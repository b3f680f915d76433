"""The baseline role's catalog as Ansible templates it, for tests that call module_utils directly."""

import json
import pathlib

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _trusted(value):
    """Role files are trusted templates; yaml.safe_load gives plain strings that Ansible 2.19 would not render."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


def render_catalog(**variables) -> list:
    """roles/baseline/defaults/main/main.yml as Ansible templates it (defaults, then ``variables``)."""
    defaults = _trusted(yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text()))
    catalog = _trusted(yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text()))
    context = {**defaults, **catalog, "meddev_products": [], **variables}
    rendered = Templar(loader=DataLoader(), variables=context).template(catalog["baseline_catalog"])
    return json.loads(json.dumps(rendered))  # plain types, as the module receives them


def render_full(**variables) -> dict:
    """The baseline module's arguments as the role passes them: both catalogs, profile, product conflicts."""
    defaults = {}
    for path in sorted((ROOT / "roles/baseline/defaults/main").glob("*.yml")):
        defaults.update(_trusted(yaml.safe_load(path.read_text())) or {})
    context = {**defaults, "meddev_products": [], **variables}
    templar = Templar(loader=DataLoader(), variables=context)
    args = {"catalog": context["baseline_catalog"] + context.get("baseline_ms_catalog", []),
            "profile": context["baseline_profile"], "values": context["baseline_values"],
            "product_conflicts": context.get("baseline_product_conflicts", {}),
            "products": context["meddev_products"], "skip": context["baseline_skip"],
            "protected_services": context["baseline_protected_services"]}
    return json.loads(json.dumps(templar.template(args)))  # plain types, as the module receives them
