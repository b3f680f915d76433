"""The execution-environment build context is created without a container engine and holds the collection."""

import shutil
import subprocess
import tarfile

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration


def test_ee_context_contains_the_collection_and_the_winrm_clients(tmp_path):
    (tmp_path / "build").mkdir()
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path / "build"),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    built = next((tmp_path / "build").glob("meddev-hardening-*.tar.gz"))
    shutil.copy(built, tmp_path / "build" / "meddev-hardening.tar.gz")
    shutil.copy(ROOT / "execution-environment.yml", tmp_path)
    subprocess.run([str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context",
                    "context", "--output-filename", "Containerfile"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-core==2.19.14" in containerfile and "ansible-galaxy" in containerfile
    assert "meddev-hardening.tar.gz" in (context / "_build" / "requirements.yml").read_text()
    python = (context / "_build" / "requirements.txt").read_text()
    assert "pywinrm[kerberos,credssp]==0.5.0" in python and "pypsrp[kerberos,credssp]==0.9.1" in python
    with tarfile.open(context / "_build" / "build" / "meddev-hardening.tar.gz") as tar:
        assert {"MANIFEST.json", "plugins/modules/baseline.ps1", "roles/firewall/tasks/main.yml"} <= set(tar.getnames())
