"""Test helpers: re-exported from gxsheet.render.samples (the examples and benchmarks use them too)."""

from gxsheet.render.samples import *  # noqa: F401,F403
from gxsheet.render.samples import default_meta, default_prose, fill_workbook, layout_of, valid_values, write_sample  # noqa: F401
