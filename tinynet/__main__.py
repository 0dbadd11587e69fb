"""``python -m tinynet``: the command line (see tinynet.cli)."""

import sys

from tinynet.cli import main

if __name__ == "__main__":
    sys.exit(main())
