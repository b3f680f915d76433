# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure the winsim IIS log scan: time and peak memory against the size of the log set.

Usage: python tests/tools/logscan_bench.py MB [MB ...]   (e.g. 10 100 1024)
For each size, writes a simulated host whose W3SVC1 folder holds that many MB of normal IIS
traffic with one planted attack per 10,000 lines, then scans it in a fresh process and prints
one JSON line: size, seconds, peak RSS, lines, findings. The scan must find every planted line.
"""

from __future__ import annotations

import json
import pathlib
import resource
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ("#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
          "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
          "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n")
NORMAL = ("2026-11-20 07:{m:02d}:{s:02d} 10.20.1.15 GET /api/runs status=complete&page={n} 80 - 10.20.1.{c} "
          "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) http://lrm/runs 200 0 0 {t}\r\n")
ATTACK = ("2026-11-20 22:41:07 10.20.1.15 POST /hackertool.asp - 80 - 203.0.113.66 python-requests/2.31 - "
          "200 0 0 31\r\n")

SCAN = """
import json, resource, sys, time
sys.path.insert(0, {collections!r})
from ansible_collections.meddev.hardening.plugins.modules.iis_log_scan import scan
from ansible_collections.meddev.hardening.plugins.module_utils.iis_logs import catalog
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimHost
started = time.monotonic()
result = scan(SimHost({state!r}), {{"log_roots": ["C:\\\\inetpub\\\\logs\\\\LogFiles"], "site_pattern": "W3SVC*",
              "indicators": catalog(), "since": "", "max_findings": 100000, "max_line_bytes": 65536}})
print(json.dumps({{"seconds": round(time.monotonic() - started, 2), "lines": result["stats"]["lines"],
                  "findings": len(result["findings"]),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}}))
"""


def write_logs(state: pathlib.Path, megabytes: int) -> int:
    folder = state / "fs" / "C" / "inetpub" / "logs" / "LogFiles" / "W3SVC1"
    folder.mkdir(parents=True)
    target, planted, n, day = megabytes * 1024 * 1024, 0, 0, 0
    written = 0
    while written < target:
        day += 1
        with open(folder / f"u_ex2611{day:02d}.log", "w", encoding="ascii", newline="") as handle:
            handle.write(HEADER)
            for _line in range(2_000_000):
                n += 1
                if n % 10_000 == 0:
                    line, planted = ATTACK, planted + 1
                else:
                    line = NORMAL.format(m=n // 60 % 60, s=n % 60, n=n % 500, c=n % 250 + 2, t=n % 90)
                handle.write(line)
                written += len(line)
                if written >= target:
                    break
    return planted


def measure(megabytes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        state = pathlib.Path(tmp) / "host"
        planted = write_logs(state, megabytes)
        code = SCAN.format(collections=str(ROOT / "collections"), state=str(state))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        result = {"megabytes": megabytes, "planted": planted, **json.loads(out)}
        if result["findings"] != planted:
            raise SystemExit(f"missed planted lines: {result}")
        return result


if __name__ == "__main__":
    del resource  # the child measures itself
    for size in [int(a) for a in sys.argv[1:]] or [10]:
        print(json.dumps(measure(size)), flush=True)
