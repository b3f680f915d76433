"""`--diff` of the LRM patch on the simulated instrument PC: the config diff once, every change in words."""

import subprocess

import pytest
from labkit import BIN, ROOT

HOST = "lrm-miseq-01"
APPHOST = r"C:\Windows\System32\inetsrv\config\applicationHost.config"
pytestmark = pytest.mark.integration


def lrm_patch(lab, *args, state="present"):
    """The lrm_patch role alone on the lab host, as site.yml runs it (the other roles print their own diffs)."""
    play = lab.root / "lrm_patch.yml"
    play.write_text("- hosts: all\n  gather_facts: false\n  roles: [meddev.hardening.lrm_patch]\n")
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(play), "-e",
                             f"lrm_patch_state={state}", *args], cwd=ROOT, env=lab.env(), capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def words(stdout: str) -> list:
    """The lines of the 'change by change' block, up to the file's unified diff."""
    block = stdout.split("change by change (host now -> after apply):\n", 1)[1]
    return block.split("\n--- before:", 1)[0].split("\nchanged:", 1)[0].splitlines()


def test_the_config_diff_is_printed_once(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    out = lrm_patch(lab, "--check", "--diff")
    assert lab.fingerprint(HOST, include_calls=False) == before
    assert out.count('+    <location path="LRM/Uploads">') == 1
    assert out.count(f"--- before: {APPHOST}") == 1 and f"--- {APPHOST}" not in out


def test_every_control_line_says_in_words_what_changes(lab):
    lines = words(lrm_patch(lab, "--check", "--diff"))
    assert "LRM-REMOTE-BLOCK (IIS site LRM refuses non-loopback clients)" in lines
    assert '  site "LRM": security/ipSecurity allowUnlisted: not set (inherited) -> "false"' in lines
    assert ('  site "LRM": security/ipSecurity/add ipAddress="127.0.0.1", "::1": absent -> added (allowed="true")'
            in lines)
    assert "LRM-UPLOAD-Uploads (Uploads in LRM/Uploads cannot execute)" in lines
    assert '  site "LRM", folder "Uploads": handlers accessPolicy: not set (inherited) -> "Read"' in lines
    extensions = next(line for line in lines if "fileExtensions/add fileExtension=" in line)
    assert extensions.startswith('  site "LRM", folder "Uploads": security/requestFiltering/')
    assert '".aspx"' in extensions and extensions.endswith('absent -> added (allowed="false")')
    assert r"  audit record C:\ProgramData\meddev.hardening\lrm_patch\audit.json: absent -> applied" in lines
    # Each control heading is followed by what changes, not by a hash.
    controls = [i for i, line in enumerate(lines) if line.startswith("LRM-")]
    for i in controls:
        assert lines[i + 1].startswith("  ") and "sha256" not in lines[i + 1], lines[i:i + 2]
    # The file as a whole: the hash, and where the original is kept.
    assert f"File {APPHOST}" in lines
    assert "the original is backed up first to" in lines[lines.index(f"File {APPHOST}") + 1]


def test_without_ip_security_the_diff_names_each_binding(lab):
    lab.sim(HOST).write("features", {"IIS-WebServer": True, "IIS-IPSecurity": False})
    lines = words(lrm_patch(lab, "--check", "--diff"))
    assert '  site "LRM": http binding "*:80:" -> "127.0.0.1:80:" (loopback only)' in lines
    assert '  site "LRM": https binding "*:443:" -> "127.0.0.1:443:" (loopback only)' in lines
    assert not [line for line in lines if "8080" in line]  # the other site is not touched


def test_rollback_diff_says_the_original_comes_back(lab):
    lrm_patch(lab)
    lines = words(lrm_patch(lab, "--check", "--diff", state="absent"))
    rollback = lines[lines.index("LRM-ROLLBACK (Original IIS configuration restored)") + 1]
    assert rollback.startswith("  applicationHost.config: patched (sha256 ")
    assert "-> the original bytes from the backup (sha256 " in rollback
    assert r"  audit record C:\ProgramData\meddev.hardening\lrm_patch\audit.json: applied -> rolled_back" in lines
