"""IIS log scanning: every planted attack line found, no false positive, hostile input survived."""

import io
import pathlib
import re

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


HEADER = b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n"


def test_counters_are_bytes_not_characters_with_non_ascii_text():
    line = "2026-11-20 10:00:00 203.0.113.9 GET /bücher/shell.aspx ä=ö 200\r\n".encode()
    result = scan(HEADER + line)
    assert result["stats"]["bytes"] == len(HEADER) + len(line) > len(HEADER) + len(line.decode())
    assert result["findings"][0]["uri"] == "/bücher/shell.aspx" and result["findings"][0]["query"] == "ä=ö"
    # "é" is 2 bytes: 5 of them are 10 bytes (within a 10-byte cap); 7 characters "éééééab" are 12 bytes.
    assert scan(("é" * 5 + "\n").encode(), max_line_bytes=10)["stats"]["oversized"] == 0
    assert scan(("é" * 5 + "ab\n").encode(), max_line_bytes=11)["stats"]["oversized"] == 1


def test_a_line_is_capped_in_bytes_before_its_lf_with_the_cr_counted():
    for content, limit, oversized in ((b"a" * 10, 10, 0), (b"a" * 11, 10, 1), (b"a" * 9 + b"\r", 10, 0),
                                      (b"a" * 10 + b"\r", 10, 1), (b"a" * 11, 11, 0)):
        for ending in (b"\n", b""):  # the last line may have no LF
            stats = scan(content + ending, max_line_bytes=limit)["stats"]
            assert (stats["oversized"], stats["lines"]) == (oversized, 1 - oversized), (content, ending)
            assert stats["bytes"] == len(content + ending)


def test_a_byte_order_mark_at_the_start_does_not_hide_the_header():
    result = scan(b"\xef\xbb\xbf" + LOG)
    assert {f["line"] for f in result["findings"]} == ATTACK_LINES and result["stats"]["malformed"] == 2


def test_request_text_is_decoded_like_unquote_plus_and_lower_cased_in_ascii_only():
    assert iis_logs.request_text("POST", "/%2557SCRIPT+x", "a=%C3%A9") == "post /wscript x?a=é"
    assert iis_logs.request_text("GET", "/x%ff%zz", "-") == "get /x\ufffd%zz"
    assert iis_logs.request_text("GET", "/ÄÖ", "-") == "get /ÄÖ"  # .NET and Python agree only on A-Z


def test_indicator_classes_are_ascii_so_python_and_dotnet_agree():
    # \s in Python's Unicode mode also matches \x1c-\x1f, which .NET's \s does not: ASCII classes for both.
    command = iis_logs.compile_pattern({i["id"]: i["pattern"] for i in iis_logs.catalog()}["command-exec"])
    assert command.search("get /cmd /c dir") and command.search("get /cmd\t/c")
    assert not command.search("get /cmd\x1c/c") and not command.search("get /cmd\xa0/c")
    for item in iis_logs.catalog():  # written in lower case: the text they see is lower case
        assert not re.search(r"(?<!\\)[A-Z]", item["pattern"]), item["id"]


def test_findings_carry_the_user_agent_as_logged():
    """The report shows who asked (issue 15): cs(User-Agent) as IIS logs it."""
    by_line = {f["line"]: f for f in scan(LOG)["findings"]}
    assert by_line[17]["user_agent"] == "python-requests/2.31"
    assert all(f["user_agent"] not in ("", None) for f in by_line.values())
