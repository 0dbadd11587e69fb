"""``python -m tinynet``: the command line (see tinynet.apps.cli)."""

import sys

from tinynet.apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
