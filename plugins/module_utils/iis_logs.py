# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IIS W3C log scanning for the indicators of SRC-LRM-12, streamed with bounded memory.

The controller owns the indicator catalog and sends it to the host as regular expressions; the
host (``iis_log_scan.ps1`` on Windows, :func:`scan_file` in winsim) reads each log line by line,
parses it by the ``#Fields:`` header in force at that line (it may change inside a file), and
returns only the matching requests. Both sides apply the same rules:

* the request text is ``METHOD uri-stem?uri-query``, percent-decoded twice (``+`` is a space)
  and lower-cased, so ``%77script`` and ``%2577script`` are caught;
* loopback clients (``127.0.0.0/8``, ``::1``) are ignored: LRM talks to itself;
* lines longer than ``max_line_bytes`` are skipped (counted as oversized) without being held
  in memory, and lines whose field count does not match the header are counted as malformed.
"""

from __future__ import annotations

import re
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


def request_text(method: str, stem: str, query: str) -> str:
    text = f"{method} {stem}" + (f"?{query}" if query and query != "-" else "")
    for _round in range(2):
        text = urllib.parse.unquote_plus(text)
    return text.lower()


def is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "[::1]")


class Scan:
    """Accumulates results across files; the host returns :meth:`result`."""

    def __init__(self, indicators, since: str = "", max_findings: int = 500, max_line_bytes: int = 65536):
        self.indicators = [(i["id"], re.compile(i["pattern"], re.I)) for i in indicators]
        self.since = since
        self.max_findings = max_findings
        self.max_line_bytes = max_line_bytes
        self.findings, self.counts = [], {}
        self.stats = {"files": 0, "lines": 0, "bytes": 0, "malformed": 0, "oversized": 0, "skipped_loopback": 0}

    def result(self) -> dict:
        return {"findings": self.findings, "counts": self.counts, "stats": self.stats,
                "truncated": self.stats.get("matched_lines", 0) > len(self.findings)}

    def line(self, path: str, number: int, text: str, fields: dict | None) -> None:
        """One data line; ``fields`` maps field name to index (None: no #Fields seen yet)."""
        values = text.split(" ")
        if fields is None or len(values) != len(fields):
            self.stats["malformed"] += 1
            return

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
        for ident in matched:
            self.counts[ident] = self.counts.get(ident, 0) + 1
        if matched:
            self.stats["matched_lines"] = self.stats.get("matched_lines", 0) + 1
            if len(self.findings) < self.max_findings:
                self.findings.append({"file": path, "line": number, "time": when, "client_ip": client,
                                      "method": get("cs-method"), "uri": get("cs-uri-stem"),
                                      "query": get("cs-uri-query"), "status": get("sc-status"),
                                      "indicator": matched[0], "indicators": matched})

    def scan_file(self, path: str, handle) -> None:
        """Stream one binary file handle; memory stays bounded by ``max_line_bytes``."""
        self.stats["files"] += 1
        fields, number = None, 0
        while True:
            raw = handle.readline(self.max_line_bytes + 1)
            if not raw:
                break
            number += 1
            self.stats["bytes"] += len(raw)
            if len(raw) > self.max_line_bytes and not raw.endswith(b"\n"):
                self.stats["oversized"] += 1
                while raw and not raw.endswith(b"\n"):  # drop the rest of the line, chunk by chunk
                    raw = handle.readline(self.max_line_bytes + 1)
                    self.stats["bytes"] += len(raw)
                continue
            self.stats["lines"] += 1
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text.startswith("#"):
                if text.startswith("#Fields:"):
                    names = text[len("#Fields:"):].split()
                    fields = {name: index for index, name in enumerate(names)}
                continue
            if text:
                self.line(path, number, text, fields)
