# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Surgical edits of XML config files (IIS applicationHost.config, web.config).

The file is parsed only to learn where each element starts and ends; changes are spliced into
the original text. Everything this code does not touch stays byte-identical: comments, other
sections, attribute order and quoting, white space, line endings, encoding and BOM. DTDs and
entity declarations are refused. The result is parsed again before it is returned, so invalid
XML is never produced.
"""

from __future__ import annotations

import dataclasses
import re
import xml.parsers.expat

BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
DECLARED = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
FORBIDDEN = re.compile(r"<!(DOCTYPE|ENTITY)", re.I)
MAX_BYTES = 32 * 1024 * 1024


class XmlError(ValueError):
    """The file cannot be edited safely; nothing is written."""


@dataclasses.dataclass(eq=False)
class Node:
    tag: str
    attrs: list            # [(name, value), ...] in document order
    start: int             # offset of "<" of the start tag (in the UTF-8 buffer)
    start_end: int         # offset just past the start tag's ">"
    end: int = 0           # offset just past the end tag (== start_end when self-closing)
    children: list = dataclasses.field(default_factory=list)
    parent: Node | None = None

    @property
    def self_closing(self) -> bool:
        return self.end == self.start_end

    def get(self, name: str, default=None):
        return next((v for k, v in self.attrs if k == name), default)

    def find(self, tag: str, **match) -> Node | None:
        """First child with ``tag`` whose attributes equal ``match`` (values case-insensitive)."""
        for child in self.children:
            if child.tag == tag and all((child.get(k) or "").lower() == str(v).lower() for k, v in match.items()):
                return child
        return None


@dataclasses.dataclass(frozen=True)
class Elem:
    """Desired element: ``match`` identifies it, ``attrs`` are set, ``children`` are merged."""

    tag: str
    match: dict = dataclasses.field(default_factory=dict)
    attrs: dict = dataclasses.field(default_factory=dict)
    children: tuple = ()
    remove: object = None  # callable(child Node) -> bool: children to delete


def _decode(data: bytes):
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return bom, encoding, data[len(bom):]
    if data.startswith(b"<\x00"):
        return b"", "utf-16-le", data
    if data.startswith(b"\x00<"):
        return b"", "utf-16-be", data
    declared = DECLARED.match(data)
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding.replace("-", "") in ("utf16", "ucs2"):
        raise XmlError(f"declared {encoding} but the file has no UTF-16 byte order")
    return b"", encoding, data


class Document:
    """One XML file: its original bytes, how they are encoded, and its element positions."""

    def __init__(self, data: bytes):
        if len(data) > MAX_BYTES:
            raise XmlError(f"file is larger than {MAX_BYTES} bytes")
        self.original = data
        self.bom, self.encoding, body = _decode(data)
        try:
            text = body.decode(self.encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise XmlError(f"not valid {self.encoding}: {error}") from None
        if FORBIDDEN.search(text):
            raise XmlError("DTDs and entity declarations are refused (XXE / entity expansion)")
        self.newline = "\r\n" if "\r\n" in text else ("\n" if "\n" in text else "")
        self.buf = text.encode("utf-8")
        self.root = _parse(self.buf)
        self._tags = {}      # id(node) -> (node, new start-tag text)
        self._appends = {}   # id(node) -> (node, [rendered children to add])
        self._removals = []  # (start, end) byte ranges to delete
        self._unit = _indent_unit(text)

    # -- reading --------------------------------------------------------------------------------

    def path(self, *steps) -> Node | None:
        """Follow (tag, {attr: value}) steps from the root (the root is the first step)."""
        tag, match = steps[0]
        node = self.root if self.root.tag == tag else None
        for tag, match in steps[1:]:
            node = node.find(tag, **match) if node else None
        return node

    # -- editing ----------------------------------------------------------------------------------

    def merge(self, parent: Node, spec: Elem) -> None:
        """Make ``spec`` true under ``parent``, inserting or changing only what differs."""
        node = parent.find(spec.tag, **spec.match)
        if node is None:
            self._insert(parent, self._render(spec, self._indent_of_child(parent)))
            return
        self._set_attrs(node, {**spec.match, **spec.attrs})
        if spec.remove is not None:
            for child in node.children:
                if spec.remove(child):
                    self._remove(child)
        for child_spec in spec.children:
            self.merge(node, child_spec)

    def set_attributes(self, node: Node, wanted: dict) -> None:
        """Set attributes on an existing element (values compared case-insensitively)."""
        self._set_attrs(node, wanted)

    def text(self) -> str:
        return self.buf.decode("utf-8")

    def edit_count(self) -> int:
        """How many elements have pending edits; tells whether one merge changed anything."""
        return len(self._tags) + sum(len(texts) for _node, texts in self._appends.values()) + len(self._removals)

    def changed(self) -> bool:
        return self.edit_count() > 0

    def result(self) -> bytes:
        """The edited file in its original encoding and BOM; validated by parsing it again."""
        out = bytearray(self.buf)
        edits = sorted(self._edit_list(), reverse=True)
        for (start, end, text), before in zip(edits, [*edits[1:], None], strict=False):
            if before is not None and before[1] > start:
                raise XmlError("overlapping edits")  # a bug: never write a guess
            out[start:end] = text
        data = self.bom + bytes(out).decode("utf-8").encode(self.encoding)
        Document(data)  # raises if the result is not well-formed
        return data

    # -- internals ----------------------------------------------------------------------------------

    def _tag_text(self, node: Node) -> str:
        return self._tags.get(id(node), (node, self.buf[node.start:node.start_end].decode("utf-8")))[1]

    def _insert(self, parent: Node, text: str) -> None:
        self._appends.setdefault(id(parent), (parent, []))[1].append(text)

    def _remove(self, node: Node) -> None:
        start = node.start
        while start > 0 and self.buf[start - 1:start] in (b" ", b"\t"):
            start -= 1
        nl = self.newline.encode()
        if nl and self.buf[start - len(nl):start] == nl:
            start -= len(nl)
        self._removals.append((start, node.end))

    def _set_attrs(self, node: Node, wanted: dict) -> None:
        tag = self._tag_text(node)
        new = tag
        for name, value in wanted.items():
            current = node.get(name)
            if current is not None and current.lower() == str(value).lower():
                continue  # IIS compares these values case-insensitively
            quoted = _quote(value)
            pattern = re.compile(rf"(\s{re.escape(name)}\s*=\s*)(\"[^\"]*\"|'[^']*')")
            if current is not None and pattern.search(new):
                new = pattern.sub(lambda m, q=quoted: m.group(1) + q, new, count=1)
            else:
                new = re.sub(r"(\s*/?>)$", lambda m, n=name, q=quoted: f" {n}={q}{m.group(1)}", new, count=1)
        if new != tag:
            self._tags[id(node)] = (node, new)

    def _edit_list(self) -> list:
        nl = self.newline
        edits = [(start, end, b"") for start, end in self._removals]
        appends = dict(self._appends)
        for key, (node, text) in self._tags.items():
            if node.self_closing and key in appends:
                continue  # written below with its new children
            edits.append((node.start, node.start_end, text.encode("utf-8")))
        for node, texts in appends.values():
            if node.self_closing:
                head = re.sub(r"\s*/>$", ">", self._tag_text(node))
                body = nl + nl.join(texts) + f"{nl}{self._indent(node)}</{node.tag}>"
                edits.append((node.start, node.start_end, (head + body).encode("utf-8")))
                continue
            point = self.buf.rindex(b"</", node.start_end, node.end)
            while point > node.start_end and self.buf[point - 1:point] in (b" ", b"\t"):
                point -= 1
            if nl and self.buf[point - len(nl):point] == nl.encode():
                point -= len(nl)
            edits.append((point, point, "".join(nl + t for t in texts).encode("utf-8")))
        return edits

    def _indent(self, node: Node) -> str:
        line_start = self.buf.rfind(b"\n", 0, node.start) + 1
        lead = self.buf[line_start:node.start]
        return lead.decode("utf-8") if lead.strip() == b"" else ""

    def _indent_of_child(self, parent: Node) -> str:
        if not self.newline:
            return ""
        if parent.children:
            return self._indent(parent.children[0])
        return self._indent(parent) + self._unit

    def _render(self, spec: Elem, indent: str) -> str:
        attrs = "".join(f" {k}={_quote(v)}" for k, v in {**spec.match, **spec.attrs}.items())
        if not spec.children:
            return f"{indent}<{spec.tag}{attrs} />"
        inner_indent = indent + self._unit if self.newline else ""
        inner = self.newline.join(self._render(c, inner_indent) for c in spec.children)
        nl = self.newline
        return f"{indent}<{spec.tag}{attrs}>{nl}{inner}{nl}{indent}</{spec.tag}>"


def _quote(value) -> str:
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return '"' + text.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;") + '"'


def _indent_unit(text: str) -> str:
    widths = sorted({len(m) for m in re.findall(r"\n([ \t]+)<", text)})
    if not widths:
        return "    "
    first = re.search(r"\n([ \t]+)<", text).group(1)
    return "\t" if first.startswith("\t") else " " * widths[0]


def _start_tag_end(buf: bytes, start: int) -> int:
    quote = None
    for i in range(start + 1, len(buf)):
        char = buf[i:i + 1]
        if quote:
            if char == quote:
                quote = None
        elif char in (b'"', b"'"):
            quote = char
        elif char == b">":
            return i + 1
    raise XmlError("unterminated start tag")


def _parse(buf: bytes) -> Node:
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8")
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack, roots = [], []

    def refuse(*_args):
        raise XmlError("DTDs and entity declarations are refused (XXE / entity expansion)")

    def start(tag, attrs):
        index = parser.CurrentByteIndex
        node = Node(tag, list(zip(attrs[::2], attrs[1::2], strict=True)), index, _start_tag_end(buf, index),
                    parent=stack[-1] if stack else None)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_tag):
        node = stack.pop()
        # <a/> and <a></a> both report their end at start_end: only the first is an empty-element tag.
        if buf[node.start_end - 2:node.start_end] == b"/>":
            node.end = node.start_end
        else:
            node.end = buf.index(b">", parser.CurrentByteIndex) + 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(buf, True)
    except xml.parsers.expat.ExpatError as error:
        raise XmlError(f"not well-formed XML: {error}") from None
    if len(roots) != 1:
        raise XmlError("no root element")
    return roots[0]
