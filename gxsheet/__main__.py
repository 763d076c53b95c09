"""``python -m gxsheet`` is the same as the ``gxsheet`` command."""

import sys

from gxsheet.cli.app import main

sys.exit(main())
