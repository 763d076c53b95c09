"""``python -m gxsheet`` is the same as the ``gxsheet`` command."""

import sys

from .cli import main

sys.exit(main())
