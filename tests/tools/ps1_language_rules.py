# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps1_check rule set (placeholder until written): see issue 12."""


def check(root, path) -> list:
    return []
