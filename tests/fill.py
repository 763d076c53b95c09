"""Test helpers: re-exported from gxsheet.samples (the examples and benchmarks use them too)."""

from gxsheet.samples import *  # noqa: F401,F403
from gxsheet.samples import default_meta, default_prose, fill_workbook, layout_of, valid_values, write_sample  # noqa: F401
