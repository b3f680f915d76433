#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.winsim_seed; the work is done by the action plugin on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: winsim_seed
short_description: Create a simulated Windows host from a named profile
version_added: 0.1.0
description:
  - Replaces the state directory of a host that uses the C(meddev.hardening.winsim) connection
    with the state described by a profile (C(tests/fixtures/profiles/<profile>.yml)), and empties
    its C(calls.log). Runs on the controller; makes no host round trip.
  - For the lab, molecule scenarios and tests. Never used against a real host.
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: windows
options:
  profile:
    description: Name of the profile.
    type: str
    required: true
  profile_dir:
    description: Directory of profiles; defaults to the collection's C(tests/fixtures/profiles).
    type: path
"""

EXAMPLES = r"""
- name: Reset the lab host to its delivered state
  meddev.hardening.winsim_seed:
    profile: lrm_instrument
"""

RETURN = r"""
state_dir:
  description: The host's state directory.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={"profile": {"type": "str", "required": True},
                                          "profile_dir": {"type": "path"}})
    module.fail_json(msg="winsim_seed runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
