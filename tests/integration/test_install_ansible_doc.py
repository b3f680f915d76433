"""What `ansible-doc` shows a user of the installed collection (issue 15)."""

import json
import subprocess
import textwrap

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration
# Modules whose variable_prefix is set by a role or playbook (baseline's doc is checked with baseline).
PREFIXED = ("defender_exclusion", "firewall_policy", "host_evidence", "iis_log_scan", "iqwebx_licgen", "lrm_patch")


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    root = tmp_path_factory.mktemp("doc")
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(root), "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1"}
    (root / "ansible.cfg").write_text(f"[defaults]\ncollections_path = {root / 'collections'}\n")
    galaxy = str(BIN / "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(root), str(ROOT)], cwd=root, env=env,
                   capture_output=True, check=True, timeout=600)
    subprocess.run([galaxy, "collection", "install", "--offline", "-p", str(root / "collections"),
                    str(sorted(root.glob("meddev-hardening-*.tar.gz"))[0])], cwd=root, env=env, capture_output=True,
                   check=True, timeout=600)

    def run(*args):
        return subprocess.run([str(BIN / "ansible-doc"), *args], cwd=root, env=env, capture_output=True, text=True,
                              check=True, timeout=300).stdout
    return run


def test_variable_prefix_is_documented_as_internal(doc):
    docs = json.loads(doc("--json", "-t", "module", *(f"meddev.hardening.{m}" for m in PREFIXED)))
    for name, entry in docs.items():
        description = entry["doc"]["options"]["variable_prefix"]["description"]
        assert description[0].startswith("Internal. Set by "), name
        assert "leave it unset when calling the module directly" in description[0], name


def test_no_placeholder_links_in_module_docs(doc):
    names = [line.split()[0] for line in doc("-t", "module", "-l", "meddev.hardening").splitlines() if line.strip()]
    assert "meddev.hardening.firewall_policy" in names
    docs = json.loads(doc("--json", "-t", "module", *names))
    text = json.dumps(docs)
    assert "example" + ".invalid" not in text  # spelled in two parts: this file ships too
    assert not [n for n, e in docs.items() if any("link" in s for s in e["doc"].get("seealso", []))]


def test_role_docs_say_product_dependent_defaults_in_words(doc):
    firewall = textwrap.dedent(doc("-t", "role", "meddev.hardening.firewall"))
    flat = " ".join(firewall.split())
    assert "Default: true on hosts whose `meddev_products' lists `illumina_lrm', false on every other host." in flat
    av = " ".join(doc("-t", "role", "meddev.hardening.av_exclusions").split())
    assert "iQ-WEBX install folder. Used only on hosts whose `meddev_products' lists `iqwebx'." in av
    assert "av_exclusions_illumina_folder" not in av  # SRC-LRM-6 names the SRP's exempted folder, not an exclusion
