"""report.html: verdict, trend, folded rows, each vendor text once, host states, findings, CSP (issue 15)."""

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

from ansible_collections.meddev.hardening.plugins.plugin_utils import report, report_html
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_verdict import verdict

VOID = {"meta", "col", "wbr", "br", "input", "img", "hr", "link"}
SVG_EMPTY = {"rect", "line"}


class Tree(HTMLParser):
    """Each element with its ancestors (tag, attributes): enough to ask 'is this row folded?'."""

    def __init__(self, page):
        super().__init__()
        self.stack, self.elements = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        element = (tag, dict(attrs), tuple(self.stack))
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element[:2])

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), tuple(self.stack)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def find(self, tag, **attrs):
        return [e for e in self.elements if e[0] == tag and all(e[1].get(k) == v for k, v in attrs.items())]


def classes(element):
    return (element[1].get("class") or "").split()


def control(cid, status, source=("SRC-LRM-9",)):
    return {"id": cid, "title": f"title {cid}", "source": list(source), "status": status,
            "expected": "on", "actual": "off", "message": ""}


MIXED = ("drift", "compliant", "not_applicable", "fixed")


def fleet(hosts=3, audit_only=(), unreachable=(), errors=(), statuses=MIXED):
    rec = report.RunRecorder()
    for n in range(hosts):
        name = f"host-{n:03d}"
        meta = {"customer": f"cust-{n % 2}", "site": "site-a", "audit_only": name in audit_only}
        if name in unreachable:
            rec.hosts[name] = {"round_trips": 0, "controls": [], "findings": [], "errors": [], "unreachable": False,
                               **meta}
            rec.add_unreachable(name, "ssl: the WinRM certificate could not be validated")
            continue
        if name in errors:
            rec.add_result(name, {"failed": True, "msg": "bad input: firewall_rules[0].port"}, task="Validate")
            rec.hosts[name].update(meta)
            continue
        rec.add_result(name, {"host_calls": 2, "meddev_host": meta,
                              "controls": [control(*s.split(":")) if ":" in s else control(f"C-{i}", s)
                                           for i, s in enumerate(statuses)]})
    return rec.build("check", generated="2026-11-23T10:00:00Z", inventory=["inv"])


def test_verdict_banner_fails_on_enforced_drift_and_counts_audit_only_drift_apart():
    data = fleet(audit_only=("host-001",))
    for gate in (data.pop("gate", None), None):  # report.json's gate, then the same rule computed here
        if gate is not None:
            data["gate"] = gate
        page = report_html.render_html(data)
        banner = Tree(page).find("header", id="verdict")[0]
        assert banner[1]["class"] == "failed" and banner[1]["data-passed"] == "false"
        assert "GATE FAILED" in page and "<li><b>2</b> drift on enforced hosts" in page
        assert "<li><b>1</b> drift on audit-only hosts" in page
        data.pop("gate", None)


def test_verdict_passes_with_only_audit_only_drift_and_prefers_the_reports_gate():
    data = fleet(hosts=1, audit_only=("host-000",))
    data.pop("gate", None)
    assert verdict(data)["passed"] is True and "1 drift on audit-only hosts" in verdict(data)["reason"]
    assert "GATE PASSED" in report_html.render_html(data)
    data["gate"] = {"passed": False, "reason": "drift.yml: 1 host missing", "audit_only_drift": 7}
    page = report_html.render_html(data)
    assert "GATE FAILED" in page and "drift.yml: 1 host missing" in page and "<li><b>7</b> drift on audit" in page


def test_unreachable_and_failed_hosts_show_customer_site_and_a_badge_never_an_empty_row():
    data = fleet(hosts=3, unreachable=("host-001",), errors=("host-002",))
    tree = Tree(report_html.render_html(data))
    rows = {r[1]["data-host"]: r for r in tree.find("tr") if "data-host" in r[1]}
    assert rows["host-001"][1]["data-state"] == "unreachable" and rows["host-002"][1]["data-state"] == "failed"
    page = report_html.render_html(data)
    row_001 = re.search(r'<tr data-host="host-001".*?</tr>', page).group(0)
    assert "cust-1" in row_001 and "site-a" in row_001 and ">UNREACHABLE<" in row_001
    assert "certificate could not be validated" in row_001
    row_002 = re.search(r'<tr data-host="host-002".*?</tr>', page).group(0)
    assert "cust-0" in row_002 and ">FAILED<" in row_002 and "firewall_rules[0].port" in row_002
    data.pop("gate", None)
    assert verdict(data)["passed"] is False and "1 unreachable hosts, 1 hosts that failed" in verdict(data)["reason"]


def folded_away(row) -> bool:
    """Inside a closed <details> (below its host's section): one click away."""
    return any(tag == "details" and "open" not in attrs and "host" not in attrs.get("class", "")
               for tag, attrs in row[2])


def ctl_rows(tree):
    return [r for r in tree.elements if r[0] == "tr" and "ctl" in classes(r)]


def test_compliant_fixed_and_not_applicable_rows_are_folded_problems_are_not():
    tree = Tree(report_html.render_html(fleet(statuses=("drift", "failed", "manual", "compliant", "fixed",
                                                        "not_applicable", "FW-A:compliant"))))
    rows = ctl_rows(tree)
    assert len(rows) == 3 * 7
    for row in rows:
        assert folded_away(row) == (row[1]["data-status"] in ("compliant", "fixed", "not_applicable")), row


def test_controls_are_grouped_by_family_and_a_family_with_many_problems_starts_folded():
    statuses = ["FW-A:drift", "FW-B:compliant", "BL-A:compliant"] + [f"MS-{i}:drift" for i in range(21)]
    page = report_html.render_html(fleet(hosts=1, statuses=statuses))
    tree = Tree(page)
    summaries = re.findall(r'<details class="family"( open)?><summary>([^<]*)</summary>', page)
    assert summaries == [(" open", "Firewall: 1 drift, 1 compliant"), ("", "Hardening baseline: 1 compliant"),
                         ("", "Microsoft security baseline: 21 drift")]
    shown = [r[1]["data-status"] for r in ctl_rows(tree) if not folded_away(r)]
    assert shown == ["drift"]  # FW-A; the 21 MS drift rows are one click away, counted in their summary
    assert len(ctl_rows(tree)) == 24


def test_few_hosts_open_many_hosts_folded():
    few, many = Tree(report_html.render_html(fleet(hosts=6))), Tree(report_html.render_html(fleet(hosts=13)))
    assert all("open" in d[1] for d in few.find("details", **{"class": "host"}))
    assert not any("open" in d[1] for d in many.find("details", **{"class": "host"}))


def test_each_vendor_text_is_printed_once_however_many_rows_quote_it():
    page = report_html.render_html(fleet(hosts=5))
    assert page.count("Windows Firewall rules blocking inbound") == 1  # the SRC-LRM-9 text, 20 rows quote it
    assert page.count('href="#src-SRC-LRM-9"') == 20 and page.count('id="src-SRC-LRM-9"') == 1


def test_trend_only_with_history_and_the_current_run_is_the_outlined_last_bar():
    data = fleet()
    assert 'id="trend"' not in report_html.render_html(data)
    assert 'id="trend"' not in report_html.render_html(data, history=[])
    history = [{"generated": f"2026-11-2{i}T02:30:00Z", "drift": 5 - i, "audit_only_drift": 40, "failed": 1}
               for i in range(3)]
    history.append({"generated": data["generated"], "drift": 99})  # the current run itself is not drawn twice
    page = report_html.render_html(data, history=history)
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert svg.count("<g><title>") == 4 and svg.count('class="t-now"') == 1
    assert "2026-11-23T10:00:00Z (this run): 3 drift on enforced hosts" in svg
    assert "<script" not in svg and "href" not in svg


def test_load_history_reads_earlier_runs_of_the_same_inventory_oldest_first(tmp_path):
    for i, inventory in enumerate((["inv"], ["other"], ["inv"], ["inv"])):
        run = fleet(hosts=i + 1)
        run.update(generated=f"2026-11-2{i}T10:00:00Z", inventory=inventory)
        report.write(run, tmp_path)
    (tmp_path / "20261129T000000Z").mkdir()
    (tmp_path / "20261129T000000Z" / "report.json").write_text("{not json")
    points = report_html.load_history(tmp_path, ["inv"])
    assert [p["generated"] for p in points] == ["2026-11-20T10:00:00Z", "2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"]
    assert points[-1] == {"generated": "2026-11-23T10:00:00Z", "drift": 4, "audit_only_drift": 0, "failed": 0}
    assert [p["generated"] for p in report_html.load_history(tmp_path, ["inv"], limit=1)] == ["2026-11-23T10:00:00Z"]
    assert len(report_html.load_history(tmp_path, ["inv"], before="2026-11-23T10:00:00Z")) == 2
    assert report_html.load_history(tmp_path / "missing", ["inv"]) == []


def iis_finding(**fields):
    base = {"kind": "iis_log", "file": "C:\\inetpub\\logs\\LogFiles\\W3SVC2\\u_ex261120.log", "line": 19,
            "time": "2026-11-20T22:41:15Z", "client_ip": "203.0.113.66", "method": "GET", "uri": "/Uploads/cmd.aspx",
            "query": "c=%77script.network", "status": "200", "indicator": "wscript",
            "indicators": ["wscript", "wscript.network"], "source": "SRC-LRM-12"}
    return {**base, **fields}


def with_findings(*findings):
    data = fleet(hosts=1)
    data["hosts"]["host-000"]["findings"] = list(findings)
    return data


def test_iis_findings_show_query_decoded_user_agent_status_and_file_line():
    page = report_html.render_html(with_findings(iis_finding(), iis_finding(query="-", user_agent="Mozilla/5.0+(X11)")))
    assert "<code>c=%77script.network</code><small>decoded: <code>c=wscript.network</code>" in page
    assert "u_ex261120.log:19" in page and "<td>200</td>" in page
    assert "Mozilla/5.0+<wbr>(X11)" in page and "not recorded" in page  # the scan does not return the agent yet
    assert "W3SVC2\\<wbr>u_ex261120.log" in page


def test_hostile_log_text_is_escaped_everywhere_it_is_shown():
    hostile = ['<script>document.title="pwned"</script>', '"><svg onload=alert(1)>', "</td></tr></table>",
               "javascript:alert(1)"]
    finding = iis_finding(uri=hostile[0], query=hostile[1], user_agent=hostile[2], method=hostile[3],
                          client_ip=hostile[1], file=hostile[2], status=hostile[0], indicators=hostile)
    data = with_findings(finding, {"kind": "event", "message": hostile[0], "why": hostile[1], "log": hostile[2]})
    data["hosts"]["host-000"]["controls"][0]["message"] = hostile[1]
    page = report_html.render_html(data)
    assert page.count("<script") == 1 and "<svg onload" not in page and "</td></tr></table>" not in page
    tree = Tree(page)
    assert not [e for e in tree.elements if any(k.startswith("on") for k in e[1])]
    assert not [e for e in tree.elements if (e[1].get("href") or "#").strip()[:1] != "#"]


def test_a_lone_surrogate_in_host_text_still_gives_a_page_that_can_be_written():
    page = report_html.render_html(with_findings(iis_finding(query="bad\udc80byte")))
    assert "bad?byte" in page.encode("utf-8").decode("utf-8")


def test_csp_admits_exactly_the_pages_own_script_and_style():
    page = report_html.render_html(fleet())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe" not in csp
    assert ' style="' not in page  # a style attribute would be blocked by style-src without 'unsafe-inline'


def test_meta_names_the_run_for_tools():
    meta = re.search(r'name="meddev-report" content="([^"]+)"', report_html.render_html(fleet())).group(1)
    assert json.loads(meta.replace("&quot;", '"'))["inventory"] == ["inv"]


def test_a_large_reports_rows_are_data_that_no_text_can_break_out_of():
    data = fleet(hosts=report_html.OPEN_HOSTS_MAX + 1)
    first = data["hosts"]["host-000"]["controls"][0]
    first.update(message="</script><script>alert(1)</script>", title="<!-- & -->", expected="\u2028")
    page = report_html.render_html(data)
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the data block and the page script
    block = re.search(r'<script type="application/json" id="controls-data">(.*?)</script>', page, re.S).group(1)
    assert not set("<>&") & set(block)
    strings, hosts = json.loads(block)["strings"], json.loads(block)["hosts"]
    family = hosts["host-000"][0]
    problem = [strings[i] for i in family[2][0][:5]] + [strings[family[2][0][6]]]
    assert strings[family[0]] == "C: 1 drift, 1 fixed, 1 compliant, 1 not applicable"  # family "C" (ids C-0 ...)
    assert problem == ["C-0", "<!-- & -->", "drift", "\u2028", "off", "</script><script>alert(1)</script>"]
    assert hosts["host-001"][0][2][0][2] == family[2][0][2]  # "drift" once for every host
    assert 'class="ctl ' not in page  # no row is HTML up front
