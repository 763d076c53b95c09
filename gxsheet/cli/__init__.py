"""The ``gxsheet`` command line: one module per command, :mod:`gxsheet.cli.app` dispatches."""

from gxsheet.cli.app import main

__all__ = ["main"]
