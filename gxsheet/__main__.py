"""``python -m gxsheet`` is the same as the ``gxsheet`` command."""

import sys

from gxsheet.cli.app import main

if __name__ == "__main__":  # worker processes (``serve``'s pool) import this module again: do not rerun the command
    sys.exit(main())
