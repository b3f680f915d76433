# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance predicates of the baseline catalog (``expect``): check, judge, describe. No I/O.

The shapes mirror the expected-value language of Microsoft's security baseline CSV one to one
(Equals, OneOf, Range, Contains, ContainsAtMost/Exactly/AtLeast, Not(Equals), AllOf, Pattern), written as
one-key YAML mappings. ``ABSENT`` stands for a value that is not set on the host (CSV ``null``).
"""

from __future__ import annotations

import re

ABSENT = object()
SHAPES = ("equals", "not_equals", "one_of", "range", "contains", "contains_at_most", "contains_exactly",
          "contains_at_least", "all_of", "pattern")


LISTS = ("one_of", "contains_at_most", "contains_exactly", "contains_at_least")


def _range_ok(operand) -> bool:
    return (isinstance(operand, list) and len(operand) == 2 and isinstance(operand[0], int)
            and (operand[1] is None or isinstance(operand[1], int)))


def _pattern_error(operand) -> str:
    try:
        re.compile(str(operand))
    except re.error as error:
        return f"pattern does not compile: {error}"
    return ""


def check(predicate, where: str) -> str:
    """'' when ``predicate`` is a usable predicate, else what is wrong with it (for an ArgumentError)."""
    if not isinstance(predicate, dict) or len(predicate) != 1:
        return f"{where}: a predicate is a mapping with exactly one of {', '.join(SHAPES)}"
    (shape, operand), = predicate.items()
    problem = ""
    if shape not in SHAPES:
        problem = f"unknown predicate {shape!r}; allowed: {', '.join(SHAPES)}"
    elif shape == "range" and not _range_ok(operand):
        problem = "range takes [low, high] integers (high may be null)"
    elif shape in LISTS and not isinstance(operand, list):
        problem = f"{shape} takes a list"
    elif shape == "all_of":
        if not isinstance(operand, list) or not operand:
            problem = "all_of takes a non-empty list of predicates"
        else:
            return next((p for p in (check(sub, f"{where}.all_of[{k}]") for k, sub in enumerate(operand)) if p), "")
    elif shape == "pattern":
        problem = _pattern_error(operand)
    return f"{where}: {problem}" if problem else ""


def _norm(value):
    """Compare texts case-insensitively and numbers by value ('1' == 1, as Windows tools print them)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text.lower()


def _members(value) -> set:
    if value is ABSENT or value is None or value == "":
        return set()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return {_norm(v) for v in items if str(v).strip()}


def _equals(operand, actual) -> bool:
    if isinstance(operand, list) or isinstance(actual, (list, tuple)):
        return _members(actual) == _members(operand)
    return _norm(actual) == _norm(operand)


def _in_range(operand, actual) -> bool:
    number, (low, high) = _norm(actual), operand
    return isinstance(number, int) and number >= low and (high is None or number <= high)


def _one_of(operand, actual) -> bool:
    return any((m is None and actual is ABSENT) or (m is not None and actual is not ABSENT and _equals(m, actual))
               for m in operand)


def all_hold(predicates: list, actual) -> bool:
    return all(holds(sub, actual) for sub in predicates)


# shape -> (judge(operand, actual), does an absent value get judged (else it fails)?)
JUDGES = {
    "equals": (_equals, False),
    "not_equals": (lambda operand, actual: not _equals(operand, actual), False),
    "one_of": (_one_of, True),
    "range": (_in_range, False),
    "contains": (lambda operand, actual: str(operand).lower() in str(actual).lower(), False),
    "contains_at_most": (lambda operand, actual: _members(actual) <= _members(operand), True),
    "contains_exactly": (lambda operand, actual: _members(actual) == _members(operand), True),
    "contains_at_least": (lambda operand, actual: _members(actual) >= _members(operand), True),
    "all_of": (all_hold, True),
    "pattern": (lambda operand, actual: re.search(str(operand), str(actual)) is not None, False),
}


def holds(predicate: dict, actual) -> bool:
    """Does ``actual`` (a value, a list, or ABSENT) satisfy ``predicate``?"""
    (shape, operand), = predicate.items()
    judge, judges_absent = JUDGES[shape]
    if actual is ABSENT and not judges_absent:
        return False
    return judge(operand, actual)


def show(value) -> str:
    if value is ABSENT:
        return "not set"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if value == "":
        return '""'
    return str(value)


def _range_text(operand) -> str:
    low, high = operand
    return f"{low} or more" if high is None else f"{low}-{high}"


def describe_all(predicates: list) -> str:
    return " and ".join(describe(sub) for sub in predicates)


WORDS = {
    "equals": show,
    "not_equals": lambda operand: f"not {show(operand)}",
    "one_of": lambda operand: " or ".join("not set" if m is None else show(m) for m in operand),
    "range": _range_text,
    "contains": lambda operand: f"containing {show(operand)}",
    "contains_at_most": lambda operand: f"at most {show(operand)}",
    "contains_exactly": lambda operand: f"exactly {show(operand)}",
    "contains_at_least": lambda operand: f"at least {show(operand)}",
    "all_of": describe_all,
    "pattern": lambda operand: f"matching /{operand}/",
}


def describe(predicate: dict) -> str:
    """The predicate as a reviewer reads it: '24', '1-60', 'at most *S-1-5-32-544, *S-1-5-11', ..."""
    (shape, operand), = predicate.items()
    return WORDS[shape](operand)
