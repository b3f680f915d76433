"""IIS log scanning: every planted attack line found, no false positive, hostile input survived."""

import io
import pathlib

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import iis_logs

LOG = (pathlib.Path(__file__).resolve().parents[1] / "fixtures/iis/logs/u_ex261120.log").read_bytes()
ATTACK_LINES = {17, 18, 19, 20, 21, 22, 23}  # the 203.0.113.66 requests


def scan(data: bytes, **kwargs):
    result = iis_logs.Scan(iis_logs.catalog(), **kwargs)
    result.scan_file("u_ex.log", io.BytesIO(data))
    return result.result()


def test_every_planted_attack_is_found_and_nothing_else():
    result = scan(LOG)
    assert {f["line"] for f in result["findings"]} == ATTACK_LINES
    by_line = {f["line"]: f for f in result["findings"]}
    assert by_line[17]["indicator"] == "script-post" and by_line[17]["uri"] == "/hackertool.asp"
    assert "content-upload" in by_line[18]["indicators"]
    assert {"wscript", "wscript.network"} <= set(by_line[19]["indicators"])  # %77script.network
    assert by_line[20]["indicators"] == ["scripting.filesystemobject"]
    assert by_line[21]["indicators"] == ["command-exec"]
    assert "wscript" in by_line[23]["indicators"] and "shell" in by_line[23]["indicators"]  # %2577 twice-encoded
    assert by_line[17]["time"] == "2026-11-20T22:41:07Z" and by_line[17]["client_ip"] == "203.0.113.66"
    assert result["stats"]["malformed"] == 2 and result["stats"]["skipped_loopback"] == 2


def test_fields_header_change_inside_a_file_is_followed():
    # The second header drops cs-username and cs(Referer): the c-ip column moves.
    assert scan(LOG)["findings"][0]["client_ip"] == "203.0.113.66"


def test_since_filters_by_utc_time():
    result = scan(LOG, since="2026-11-20T22:41:20Z")
    assert {f["line"] for f in result["findings"]} == {21, 22, 23}


def test_findings_are_capped_but_counts_stay_exact():
    result = scan(LOG, max_findings=2)
    assert len(result["findings"]) == 2 and result["truncated"] is True
    assert result["counts"]["script-post"] == 2 and result["counts"]["path-traversal"] == 1


@pytest.mark.parametrize("junk", [
    b"\x00\xff\xfe binary \x80\x81 junk\n" * 50,
    b"#Fields: date time c-ip cs-method cs-uri-stem\n" + b"A" * (10 * 1024 * 1024) + b"\n",
    b"#Fields:\n\n\n",
    b"2026-11-20 no header seen yet POST /x.asp\n",
    b"",
])
def test_malformed_input_is_survived(junk):
    result = scan(junk + LOG)
    assert {f["line"] - junk.count(b"\n") for f in result["findings"]} == ATTACK_LINES


def test_a_10mb_line_is_skipped_without_being_held():
    data = b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query\n" + b"x" * (10 * 1024 * 1024) + b"\n"
    result = scan(data, max_line_bytes=4096)
    assert result["stats"]["oversized"] == 1 and result["stats"]["bytes"] == len(data)
