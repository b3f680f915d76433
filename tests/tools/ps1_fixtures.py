# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checker's fixtures mark each line a rule must report with `# expect: <message fragment>`
(several on one line allowed); a `# Fixture ...` header line only describes the file."""

import pathlib
import re

EXPECT = re.compile(r"#\s*expect:\s*(.+?)\s*(?=#\s*expect:|$)")


def expected(path: pathlib.Path) -> list:
    """[(line number, fragment)] in file order."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("# Fixture"):
            continue
        found.extend((number, fragment) for fragment in EXPECT.findall(line))
    return found


def assert_reports_exactly_the_marked_lines(problems: list, path: pathlib.Path) -> None:
    """Each `# expect:` line is reported with its fragment, and nothing else is."""
    marks = expected(path)
    assert marks, f"{path.name}: a firing fixture marks its lines with # expect:"
    for line, fragment in marks:
        assert any(p.line == line and fragment in p.message for p in problems), (line, fragment, problems)
    assert len(problems) == len(marks), [str(p) for p in problems]
