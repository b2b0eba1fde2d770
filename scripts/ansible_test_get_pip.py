"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates its sanity virtual environments without pip and fetches
get-pip.py from a host this project cannot assume is reachable. This script does
the same job with what Python itself ships: it runs pip from the wheel that
ensurepip bundles, which then installs the pip version ansible-test asks for
from the package index. It accepts get-pip.py's command line.
"""

import glob
import os
import sys

import ensurepip

# get-pip.py's own flags: pip does not know them.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    bundled = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
    if not bundled:
        sys.exit("this Python has no bundled pip wheel (ensurepip); install python3-venv or pip")
    sys.path.insert(0, bundled[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall", *args]))


if __name__ == "__main__":
    main()
