# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.iqwebx_licgen; the logic is in module_utils.iqwebx.

The only controller I/O besides the host calls: reading and hashing the distributor artifact
for the host's iQ-X version (never downloaded), so the plan can refuse a wrong one.
"""

from __future__ import annotations

import base64
import hashlib
import os

from ansible_collections.meddev.hardening.plugins.module_utils import defender, iqwebx
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction
from ansible_collections.meddev.hardening.plugins.plugin_utils.report import utc_stamp

MAX_ARTIFACT = 64 * 1024 * 1024


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.iqwebx_licgen"
    DIFF_HEADER = "iQ-WEBX LicGen.exe"
    _VALID_ARGS = frozenset(("install_dir", "login_url", "iqx_url", "iq4view_url", "artifacts",
                             "signature_max_age_days", "evidence_path", "variable_prefix"))

    def validate(self, args, prefix):
        return iqwebx.validate({"install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
                                "evidence_path": r"C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json",
                                **{k: v for k, v in args.items() if v not in (None, "")}}, prefix, now=utc_stamp())

    def host_args(self, desired):
        return {"install_dir": desired.install_dir, "login_url": desired.login_url,
                "pages": {key: url for key, _title, url in desired.pages}, "evidence_path": desired.evidence_path,
                "scan_record": desired.scan_record, "third_party_services": defender.THIRD_PARTY_SERVICES}

    def plan(self, desired, gathered):
        version = (gathered.get("iqwebx") or {}).get("version")
        artifact = None
        if not gathered.get("licgen_present") and version in desired.artifacts:
            artifact = self._read_artifact(desired.artifacts[version]["path"])
        return iqwebx.plan(desired, gathered, artifact)

    @staticmethod
    def _read_artifact(path: str) -> dict:
        try:
            if os.path.getsize(path) > MAX_ARTIFACT:
                return {"error": f"{path} is larger than {MAX_ARTIFACT} bytes"}
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            return {"error": f"{path}: {error.strerror}"}
        return {"sha256": hashlib.sha256(data).hexdigest(), "content": base64.b64encode(data).decode("ascii")}
