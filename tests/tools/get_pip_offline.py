# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for get-pip.py that ansible-test downloads from a host this network cannot reach.

ansible-test runs the bootstrap script inside each sanity venv with pip-install arguments
(``pip==X`` and flags). This does the same with the pip wheel that ships inside CPython's
``ensurepip``; the packages themselves still come from the package index as usual.
"""

import ensurepip
import glob
import os
import sys

wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
sys.path.insert(0, wheels[0])

from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", *args]))
