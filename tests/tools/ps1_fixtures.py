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
