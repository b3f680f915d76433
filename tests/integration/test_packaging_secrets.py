"""The built tarball ships no password, no placeholder URL and no lab state (issue 15)."""

import json
import re
import subprocess
import tarfile

import pytest
from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration
VAULT_PASSWORDS = sorted((ROOT / "tests/fixtures/vault_passwords").glob("*.txt"))


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
                   cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    with tarfile.open(sorted(out.glob("meddev-hardening-*.tar.gz"))[0]) as tar:
        yield {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_the_vault_password_fixtures_exist_for_the_tests():
    # Guards the tests below: they scan for these values, so the values must be known here.
    assert len(VAULT_PASSWORDS) == 3


def test_no_password_file_ships(tarball):
    assert not [name for name in tarball if re.search(r"pass(word|wd)?s?([._-]|$)|vault[._-]?pass", name.lower())]


def test_no_vault_password_value_appears_in_any_member(tarball):
    secrets = [p.read_bytes().strip() for p in VAULT_PASSWORDS]
    found = [(name, s.decode()) for name, data in tarball.items() for s in secrets if s in data]
    assert not found


def test_no_shipped_file_opens_a_shipped_vault(tarball):
    """What a secret scanner (or an attacker) would try: every short one-line file as the vault password."""
    vaults = {name: data for name, data in tarball.items() if data.startswith(b"$ANSIBLE_VAULT;")}
    assert len(vaults) >= 3  # the example distributor's customer vaults do ship, encrypted
    candidates = {name: data.strip() for name, data in tarball.items()
                  if 0 < len(data.strip()) <= 256 and b"\n" not in data.strip()}
    opened = []
    for candidate, secret in candidates.items():
        vault = VaultLib([("default", VaultSecret(secret))])
        for name, data in vaults.items():
            try:
                vault.decrypt(data)
            except AnsibleVaultError:
                continue
            opened.append((candidate, name))
    assert not opened


def test_no_placeholder_url_anywhere(tarball):
    placeholder = b"example" + b".invalid"  # spelled in two parts: this file ships too
    assert not [name for name, data in tarball.items() if placeholder in data]
    info = json.loads(tarball["MANIFEST.json"])["collection_info"]
    assert all(info.get(key) is None for key in ("repository", "documentation", "homepage", "issues"))


def test_no_lab_state_or_local_caches_ship(tarball):
    bad = [name for name in tarball if re.search(r"(^|/)(\.lab|\.hypothesis|\.state)/", name)]
    assert not bad
