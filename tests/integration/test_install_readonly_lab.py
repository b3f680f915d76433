"""The lab runs from an installed, read-only collection: its state goes next to the inventory (issue 15)."""

import hashlib
import os
import shutil
import stat
import subprocess
import textwrap

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration
HOSTS = "lrm-miseq-01,iqwebx-02"  # the LRM patch, and a LicGen.exe restored from the lab's stand-in artifact


def tree(path) -> dict:
    """Every file and folder below path with its content hash: any write shows."""
    out = {}
    for folder, dirs, files in os.walk(path):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), path)] = "dir"
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as handle:
                out[os.path.relpath(full, path)] = hashlib.sha256(handle.read()).hexdigest()
    return out


def set_writable(path, writable: bool):
    for folder, _dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            mode = os.stat(name).st_mode
            os.chmod(name, mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built tarball installed into a private collections path, then made read-only."""
    root = tmp_path_factory.mktemp("install")
    # Python caches bytecode wherever it can write; root can write despite the read-only bits, and a
    # really read-only install simply skips the cache. Off here, so any other write shows.
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(root), "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    (root / "ansible.cfg").write_text(textwrap.dedent(f"""\
        [defaults]
        collections_path = {root / "collections"}
        callbacks_enabled = meddev.hardening.compliance_report
        """))
    galaxy = str(BIN / "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(root), str(ROOT)],
                   cwd=root, env=env, capture_output=True, text=True, timeout=600, check=True)
    subprocess.run([galaxy, "collection", "install", "--offline", "-p", str(root / "collections"),
                    str(sorted(root.glob("meddev-hardening-*.tar.gz"))[0])],
                   cwd=root, env=env, capture_output=True, text=True, timeout=600, check=True)
    collection = root / "collections" / "ansible_collections" / "meddev" / "hardening"
    set_writable(collection, False)  # (root ignores this: the fingerprint below catches any write)
    yield root, env, collection
    set_writable(collection, True)


def play(root, env, inventory, name, *args, cwd=None):
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), f"meddev.hardening.{name}",
                             "--limit", HOSTS, *args], cwd=cwd or root / "work", env=env, capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def copied_lab_inventory(collection, target):
    shutil.copytree(collection / "inventories" / "lab", target)
    set_writable(target, True)  # copied from a read-only tree
    return target


def test_lab_runs_from_a_read_only_install_with_state_next_to_the_inventory(installed, tmp_path):
    root, env, collection = installed
    (root / "work").mkdir(exist_ok=True)
    before = tree(collection)
    inventory = copied_lab_inventory(collection, tmp_path / "my-lab")
    play(root, env, inventory, "lab_reset")
    play(root, env, inventory, "site")
    play(root, env, inventory, "drift")  # clean after apply: the same state was read back
    for host in HOSTS.split(","):
        assert (inventory / ".lab" / host / "calls.log").is_file()
    assert tree(collection) == before, "the installed collection was written to"
    assert not (collection / ".lab").exists()
    assert (root / "work" / "reports" / "latest" / "report.json").is_file()


def test_meddev_lab_dir_puts_the_lab_elsewhere(installed, tmp_path):
    root, env, collection = installed
    (root / "work").mkdir(exist_ok=True)
    inventory = copied_lab_inventory(collection, tmp_path / "inv")
    play(root, env, inventory, "lab_reset", "-e", f"meddev_lab_dir={tmp_path / 'state'}")
    play(root, env, inventory, "lab_reset", "-e", "meddev_lab_dir=relative-state")
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == sorted(HOSTS.split(","))
    assert (inventory / "relative-state" / "lrm-miseq-01" / "calls.log").is_file()  # relative to the inventory
    assert not (inventory / ".lab").exists()


def test_the_installed_collections_own_lab_inventory_keeps_its_state_outside(installed, tmp_path):
    """Run straight from the shipped inventory: the lab goes to .lab in the current directory."""
    root, env, collection = installed
    before = tree(collection)
    play(root, env, collection / "inventories" / "lab", "lab_reset", cwd=tmp_path)
    for host in HOSTS.split(","):
        assert (tmp_path / ".lab" / host / "calls.log").is_file()
    assert tree(collection) == before, "the installed collection was written to"
