# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
r"""IIS W3C log scanning for the indicators of SRC-LRM-12, streamed with bounded memory.

The controller owns the indicator catalog and sends it to the host as regular expressions; the
host (``MeddevLogScan.cs`` called by ``iis_log_scan.ps1`` on Windows, :class:`Scan` in winsim)
reads each log as bytes, parses it by the ``#Fields:`` header in force at that line (it may change
inside a file), and returns only the matching requests. Both sides apply the same rules, chosen
so that Python and .NET agree exactly:

* a line ends at LF; trailing CRs are dropped; a UTF-8 byte order mark at the start of a file is
  skipped; the rest is decoded as UTF-8 (invalid bytes become U+FFFD);
* ``stats.bytes`` counts the file's bytes; a line of more than ``max_line_bytes`` bytes (before
  its LF) is skipped without being held (``oversized``); ``lines`` counts the lines kept;
* the ``#Fields:`` names are split on spaces; a data line is split on single spaces and is
  ``malformed`` when its value count differs from the name count (or no header was seen yet);
* the request text is ``METHOD uri-stem?uri-query``, percent-decoded twice as
  ``urllib.parse.unquote_plus`` does (``+`` is a space), then ASCII lower-cased, so
  ``%77script`` and ``%2577script`` are caught;
* indicator patterns are matched with ASCII classes (Python ``re.ASCII``, .NET
  ``RegexOptions.ECMAScript``: the same ``\s``, ``\w``, ``\b``) and are written in lower case;
* loopback clients (``127.0.0.0/8``, ``::1``) are ignored: LRM talks to itself;
* ``since`` and the request time ``dateTtimeZ`` compare ordinally.
"""

from __future__ import annotations

import re
import string
import urllib.parse

INDICATORS = (
    # (id, regex on the decoded lower-case request text, source, why)
    ("script-post", r"^post \S*\.(asp|aspx|ashx|asmx|cshtml|asa|cer)(\?| |$)", "SRC-LRM-12",
     "POST to a server-side script, as in 'POST /hackertool.asp'"),
    ("content-upload", r"^(post|put) \S*upload\S*\.(?!(csv|txt|xml|json)(\?| |$))[a-z0-9]{1,6}(\?| |$)",
     "SRC-LRM-12", "upload of content other than a manifest/sample sheet"),
    ("wscript", r"wscript", "SRC-LRM-12", "Windows Script Host object in a request"),
    ("wscript.network", r"wscript\.network", "SRC-LRM-12", "network object of Windows Script Host"),
    ("shell", r"shell", "SRC-LRM-12", "shell object or web shell name"),
    ("scripting.filesystemobject", r"scripting\.filesystemobject", "SRC-LRM-12", "file system object"),
    # Well-known web-shell tradecraft beyond the vendor list (CISA/NSA web shell guidance, OWASP).
    ("command-exec", r"(cmd(\.exe)?\s*/c\b|powershell(\.exe)?\s+-|certutil(\.exe)?\s+-urlcache)", "SRC-LRM-12",
     "operating-system command in a request"),
    ("path-traversal", r"\.\./|\.\.\\", "SRC-LRM-12", "directory traversal"),
)
SOURCES = {item[0]: item[2] for item in INDICATORS}


def catalog(selected=None) -> list:
    """Indicators to send to the host: [{"id", "pattern"}]."""
    return [{"id": item[0], "pattern": item[1]} for item in INDICATORS if not selected or item[0] in selected]


# Only A-Z are lower-cased: .NET's ToLowerInvariant and Python's str.lower differ outside ASCII.
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
BOM = b"\xef\xbb\xbf"


def compile_pattern(pattern: str) -> re.Pattern:
    """An indicator pattern as both hosts read it: ASCII classes, case-sensitive (text is lower case)."""
    return re.compile(pattern, re.ASCII)


def request_text(method: str, stem: str, query: str) -> str:
    text = f"{method} {stem}" + (f"?{query}" if query and query != "-" else "")
    for _round in range(2):
        text = urllib.parse.unquote_plus(text)
    return text.lower() if text.isascii() else text.translate(ASCII_LOWER)  # same result; lower() is faster


def is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "[::1]")


class Scan:
    """Accumulates results across files; the host returns :meth:`result`."""

    def __init__(self, indicators, since: str = "", max_findings: int = 500, max_line_bytes: int = 65536):
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
        self.indicators = [(i["id"], compile_pattern(i["pattern"])) for i in indicators]
        self.since = since
        self.max_findings = max_findings
        self.max_line_bytes = max_line_bytes
        self.findings, self.counts = [], {}
        self.stats = {"files": 0, "lines": 0, "bytes": 0, "malformed": 0, "oversized": 0, "skipped_loopback": 0,
                      "matched_lines": 0}

    def result(self) -> dict:
        return {"findings": self.findings, "counts": self.counts, "stats": self.stats,
                "truncated": self.stats["matched_lines"] > len(self.findings)}

    def line(self, path: str, number: int, text: str, header: tuple | None) -> None:
        """One data line; ``header`` is (field name -> index, field count), None before any #Fields."""
        values = text.split(" ")
        if header is None or len(values) != header[1]:
            self.stats["malformed"] += 1
            return
        fields = header[0]

        def get(name):
            return values[fields[name]] if name in fields else "-"

        client = get("c-ip")
        if is_loopback(client):
            self.stats["skipped_loopback"] += 1
            return
        when = f"{get('date')}T{get('time')}Z"
        if self.since and when < self.since:
            return
        request = request_text(get("cs-method"), get("cs-uri-stem"), get("cs-uri-query"))
        matched = [ident for ident, pattern in self.indicators if pattern.search(request)]
        if not matched:
            return
        for ident in matched:
            self.counts[ident] = self.counts.get(ident, 0) + 1
        self.stats["matched_lines"] += 1
        if len(self.findings) < self.max_findings:
            self.findings.append({"file": path, "line": number, "time": when, "client_ip": client,
                                  "method": get("cs-method"), "uri": get("cs-uri-stem"),
                                  "query": get("cs-uri-query"), "status": get("sc-status"),
                                  "user_agent": get("cs(User-Agent)"),
                                  "indicator": matched[0], "indicators": matched})

    def scan_file(self, path: str, handle) -> None:
        """Stream one binary file handle; memory stays bounded by ``max_line_bytes``."""
        self.stats["files"] += 1
        header, number, limit = None, 0, self.max_line_bytes
        while True:
            raw = handle.readline(limit + 1)
            if not raw:
                break
            number += 1
            self.stats["bytes"] += len(raw)
            if len(raw) > limit and not raw.endswith(b"\n"):
                self.stats["oversized"] += 1
                while raw and not raw.endswith(b"\n"):  # drop the rest of the line, chunk by chunk
                    raw = handle.readline(limit + 1)
                    self.stats["bytes"] += len(raw)
                continue
            self.stats["lines"] += 1
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            if text.startswith("#"):
                if text.startswith("#Fields:"):
                    names = [name for name in text[len("#Fields:"):].split(" ") if name]
                    header = ({name: index for index, name in enumerate(names)}, len(names))
                continue
            if text:
                self.line(path, number, text, header)
