# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result vocabulary every module of this collection shares: controls, statuses, changes."""

from __future__ import annotations

import dataclasses
import re

COMPLIANT = "compliant"
DRIFT = "drift"
FIXED = "fixed"
FAILED = "failed"
NOT_APPLICABLE = "not_applicable"
MANUAL = "manual"
DEFERRED = "deferred"
STATUSES = (COMPLIANT, DRIFT, FIXED, FAILED, NOT_APPLICABLE, MANUAL, DEFERRED)


class ArgumentError(ValueError):
    """Invalid input; raised before anything on the host is touched.

    ``variable`` names the variable (or option) the bad value came from.
    """

    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}")
        self.variable = variable


# An absolute Windows path, at most MAX_PATH (260) in all; none of < > " | ? * or control characters,
# and no ':' after the drive (it would name an NTFS alternate data stream).
WINDOWS_PATH = re.compile(r'^[A-Za-z]:\\[^\x00-\x1f<>"|?*:]{1,257}\Z')
WINDOWS_PATH_RULE = '(at most 260 characters, none of < > : " | ? * or control characters after the drive)'


def windows_path(value, variable: str, what: str = "path") -> str:
    """``value`` as an absolute Windows path (``what``: path, folder, file path), or ArgumentError."""
    text = "" if value is None else str(value)
    if not WINDOWS_PATH.match(text):
        raise ArgumentError(variable, f"{text!r} is not an absolute Windows {what} like C:\\ProgramData\\x "
                                      f"{WINDOWS_PATH_RULE}")
    return text


TRUE_WORDS = ("true", "yes", "on", "1", "y", "t")
FALSE_WORDS = ("false", "no", "off", "0", "n", "f", "")


def as_bool(value, variable: str, default: bool = False) -> bool:
    """A boolean option as Ansible reads one ("no", "false", "0" are false); anything else is refused."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ArgumentError(variable, f"{value!r} is not allowed; allowed: true, false")


def as_list(value, variable: str, default=()) -> list:
    """A list option read as Ansible's argument specs read one: None or empty means ``default``, a string is
    split at commas, a number is a one-item list; anything else but a list is refused."""
    if value is None or (isinstance(value, (str, list, tuple)) and not value):
        return list(default)
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(variable, f"{value!r} is not allowed; allowed: a list")
    return list(value)


def as_names(value, variable: str, default=()) -> list:
    """A list of names (strings; integers are taken as their text), as ``as_list`` reads it."""
    items = as_list(value, variable, default)
    for item in items:
        if (isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip()
                or any(ord(c) < 32 or ord(c) == 127 for c in str(item))):
            raise ArgumentError(variable, f"{item!r} is not allowed; allowed: a list of non-empty strings "
                                          "without control characters")
    return [str(item) for item in items]


def _plain(value) -> str:
    return str.__str__(value) if isinstance(value, str) else str(value)


@dataclasses.dataclass(frozen=True)
class Control:
    """One requirement, as checked (or enforced) on one host."""

    id: str
    title: str
    source: tuple
    expected: str
    actual: str
    status: str = COMPLIANT
    message: str = ""

    def with_status(self, status: str, message: str = "", actual: str | None = None) -> Control:
        return dataclasses.replace(
            self, status=status, message=message or self.message,
            actual=self.actual if actual is None else actual,
        )

    def as_dict(self) -> dict:
        # Plain str: values from templated arguments carry Ansible's data tags, which cost far more to pickle
        # between Ansible's processes than the text itself (hundreds of controls per host).
        return {
            "id": _plain(self.id),
            "title": _plain(self.title),
            "source": [_plain(s) for s in self.source],
            "status": _plain(self.status),
            "expected": _plain(self.expected),
            "actual": _plain(self.actual),
            "message": _plain(self.message),
        }


@dataclasses.dataclass(frozen=True)
class Change:
    """One change the host module carries out; ``control`` ties it to the control it fixes."""

    control: str
    kind: str
    params: dict
    before: str
    after: str
    also: tuple = ()  # further controls this one change fixes (one file write, several settings)

    @property
    def controls(self) -> tuple:
        return (self.control, *self.also)

    def as_host_dict(self) -> dict:
        return {"control": self.control, "kind": self.kind, **self.params}


@dataclasses.dataclass(frozen=True)
class Plan:
    controls: tuple
    changes: tuple
    file_diffs: tuple = ()  # ({"before_header": path, "before": text, "after": text, ...}, ...)
    facts: dict = dataclasses.field(default_factory=dict)  # extra result keys (what was discovered)

    def diff(self, header: str):
        """The --diff of the plan: only what apply would change, one line per setting, and files."""
        before = "".join(f"{c.control}: {c.before}\n" for c in self.changes)
        after = "".join(f"{c.control}: {c.after}\n" for c in self.changes)
        summary = {"before_header": f"{header} (host now)", "after_header": f"{header} (after apply)",
                   "before": before, "after": after}
        return [summary, *self.file_diffs] if self.file_diffs else summary


def mark_unchanged(controls, enforce: bool, check_mode: bool) -> list:
    """Statuses when nothing is applied: drift stays drift, with the reason it was not fixed."""
    reason = ""
    if not enforce:
        reason = "audit-only host (meddev_enforce: false): reported, not changed"
    elif check_mode:
        reason = "check mode: apply would fix this"
    return [c.with_status(c.status, reason) if c.status == DRIFT else c for c in controls]


def summarize(controls) -> dict:
    counts = {status: 0 for status in STATUSES}
    for control in controls:
        status = control["status"] if isinstance(control, dict) else control.status
        counts[status] += 1
    return counts
