"""Surgical XML edits on many real-world shapes of IIS config: keep every byte not owned."""

import difflib
import pathlib

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils.xmlpatch import Document, Elem, XmlError

FIXTURE = (pathlib.Path(__file__).resolve().parents[1] / "fixtures/iis/applicationHost.config").read_bytes()


def lockdown(site="LRM"):
    def remote_allowed(c):
        return c.tag == "add" and (c.get("allowed") or "false").lower() == "true" and \
            c.get("ipAddress") not in ("127.0.0.1", "::1")
    return Elem("location", {"path": site}, children=(Elem("system.webServer", children=(
        Elem("security", children=(Elem("ipSecurity", attrs={"allowUnlisted": "false"}, remove=remote_allowed,
                                        children=(Elem("add", {"ipAddress": "127.0.0.1"}, {"allowed": "true"}),
                                                  Elem("add", {"ipAddress": "::1"}, {"allowed": "true"}))),)),)),))


def patch(data: bytes, spec=None) -> bytes:
    doc = Document(data)
    doc.merge(doc.root, spec or lockdown())
    return doc.result()


def only_insertions(before: bytes, after: bytes) -> bool:
    ops = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    return all(op[0] in ("equal", "insert") for op in ops)


def check_lockdown(data: bytes):
    doc = Document(data)
    ip = doc.path(("configuration", {}), ("location", {"path": "LRM"}), ("system.webServer", {}),
                  ("security", {}), ("ipSecurity", {}))
    assert ip is not None and ip.get("allowUnlisted") == "false"
    allowed = sorted(c.get("ipAddress") for c in ip.children if c.get("allowed") == "true")
    assert allowed == ["127.0.0.1", "::1"]


SHAPES = {
    "windows-default": FIXTURE,
    "crlf": FIXTURE.replace(b"\n", b"\r\n"),
    "utf8-bom": b"\xef\xbb\xbf" + FIXTURE,
    "utf16-bom": "\ufeff".encode("utf-16-le") + FIXTURE.decode().replace('"UTF-8"', '"UTF-16"').encode("utf-16-le"),
    "no-declaration": FIXTURE.split(b"\n", 1)[1],
    "namespaced": FIXTURE.replace(b"<configuration>", b'<configuration xmlns="urn:example:iis">'),
    "minified": b'<?xml version="1.0"?><configuration><system.webServer/><!--x--></configuration>',
    "empty-root": b"<configuration/>",
    "tabs": b"<configuration>\n\t<system.webServer>\n\t</system.webServer>\n</configuration>\n",
    "comments-everywhere": b"<!--a--><configuration><!--b-->\n  <location path=\"LRM\"><!--c-->\n"
                           b"  </location><!--d-->\n</configuration><!--e-->\n",
}


@pytest.mark.parametrize("name", SHAPES)
def test_shape_is_patched_idempotently_keeping_encoding_and_newlines(name):
    before = SHAPES[name]
    after = patch(before)
    check_lockdown(after)
    assert patch(after) == after  # second run: byte-identical
    assert after[:3] == before[:3]  # BOM / first bytes kept
    if b"\r\n" in before:
        assert after.count(b"\n") == after.count(b"\r\n")
    if name not in ("utf16-bom",):
        assert only_insertions(before, after)


def test_existing_ip_security_is_tightened_not_duplicated():
    before = (b'<configuration>\n  <location path="lrm">\n    <system.webServer>\n      <security>\n'
              b'        <ipSecurity allowUnlisted="true" denyAction="NotFound">\n'
              b'          <add ipAddress="10.1.2.3" allowed="true" />\n'
              b'          <add ipAddress="10.9.9.9" />\n'
              b'          <add ipAddress="127.0.0.1" allowed="true" />\n'
              b"        </ipSecurity>\n      </security>\n    </system.webServer>\n  </location>\n</configuration>\n")
    after = patch(before)
    check_lockdown(after.replace(b'path="lrm"', b'path="LRM"'))
    text = after.decode()
    assert 'denyAction="NotFound"' in text and 'ipAddress="10.9.9.9"' in text  # not ours: kept
    assert "10.1.2.3" not in text  # a remote allow defeats the control: removed
    assert text.count('ipAddress="127.0.0.1"') == 1
    assert patch(after) == after


def test_system_web_server_missing_everywhere():
    after = patch(b'<configuration>\n  <appSettings />\n</configuration>\n')
    assert after.startswith(b'<configuration>\n  <appSettings />\n  <location path="LRM">\n    <system.webServer>')


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]><configuration>&x;</configuration>',
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><configuration>&lol2;</configuration>',
    b"<configuration><a></configuration>",
    b'<configuration><a b="1"',
    b"<configuration>&undefined;</configuration>",
    b'<?xml version="1.0" encoding="UTF-8"?><configuration>\xff\xfe\x00</configuration>',
    b"",
    b"not xml at all",
    b"<a/><b/>",
])
def test_hostile_or_broken_files_are_refused(data):
    with pytest.raises(XmlError):
        Document(data)


def test_attribute_values_are_escaped():
    doc = Document(b"<configuration/>")
    doc.merge(doc.root, Elem("location", {"path": 'a"b<c&d'}))
    out = doc.result()
    assert b'path="a&quot;b&lt;c&amp;d"' in out
    assert Document(out).root.children[0].get("path") == 'a"b<c&d'
