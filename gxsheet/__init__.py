"""gxsheet: standard workbooks, validation, import/export and merge for China's annual
government-information-disclosure report (政府信息公开工作年度报告)."""

__version__ = "0.1.0"
