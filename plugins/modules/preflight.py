#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.preflight; the work is done by the action plugin on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight
short_description: Check every role's input for a host before any role touches any host
version_added: 0.1.0
description:
  - Runs on the controller and never contacts the host. For each role of this collection that
    applies to the host, composes the variables as the role's own tasks see them (role defaults,
    then inventory, play and host variables, then role vars, then extra vars), and runs the same
    checks the role runs when it starts, before its first host call
    (C(ansible.builtin.validate_argument_spec) on the role's C(meta/argument_specs.yml), and the
    role action plugin's own validation of the arguments its C(tasks/main.yml) passes, ranges
    included), plus C(meddev_enforce).
  - Fails listing every problem found for the host, each naming the variable and the allowed values.
  - Put it in a first play with C(any_errors_fatal) set, so that bad input for one host stops
    the run before any host is touched (C(playbooks/site.yml), C(drift.yml), C(investigate.yml);
    docs/preflight.md).
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  roles:
    description:
      - Roles of this collection to check, by short name, each with whether it applies to this host,
        that is the same condition as the C(when) that gates the role in the playbook, or C(true).
      - Roles mapped to false are not checked (they do not run on this host).
    type: dict
    default: {}
  tasks:
    description:
      - Tasks outside a role to check, each with the module (O(tasks[].action)) and the arguments (O(tasks[].args))
        the playbook's task passes; the module's action plugin validates them.
    type: list
    elements: dict
    default: []
    suboptions:
      action:
        description: Fully qualified name of a module of this collection.
        type: str
        required: true
      args:
        description: The arguments, exactly as the task passes them.
        type: dict
        default: {}
notes:
  - Role variables in C(vars/main.yml) outrank inventory variables and are outranked by extra
    variables, as in Ansible. Facts set by an earlier play are not taken into account, so run the
    preflight in the first play.
"""

EXAMPLES = r"""
- name: Check every host's input before any host is touched
  hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Validate the input of every role for this host (no host call)
      meddev.hardening.preflight:
        roles:
          firewall: true
          baseline: true
          lrm_patch: "{{ 'illumina_lrm' in (meddev_products | default([])) }}"

- name: Check the arguments of tasks outside a role
  hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Validate the log scan's input (no host call)
      meddev.hardening.preflight:
        tasks:
          - action: meddev.hardening.iis_log_scan
            args:
              since: "{{ investigate_since | default('') }}"
              variable_prefix: investigate_
"""

RETURN = r"""
checked:
  description: Roles and task modules whose input was checked.
  returned: always
  type: list
  elements: str
not_applicable:
  description: Roles not checked because they do not apply to this host.
  returned: always
  type: list
  elements: str
problems:
  description: Every problem found, each naming the role or module and the variable.
  returned: always
  type: list
  elements: str
  sample: ["role baseline: baseline_password_history: 30 is out of range; allowed: 0-24 (SRC-PMR-7/8)"]
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={
        "roles": {"type": "dict", "default": {}},
        "tasks": {"type": "list", "elements": "dict", "default": [],
                  "options": {"action": {"type": "str", "required": True},
                              "args": {"type": "dict", "default": {}}}},
    }, supports_check_mode=True)
    module.fail_json(msg="preflight runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
