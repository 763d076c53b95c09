"""``python -m gxsheet`` is the same as the ``gxsheet`` command."""

from gxsheet.cli.app import run

if __name__ == "__main__":  # worker processes (``serve``'s pool) import this module again: do not rerun the command
    run()
