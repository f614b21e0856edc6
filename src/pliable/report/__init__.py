"""The compile report as one self-contained HTML page: :func:`pliable.report.page.write_report`
(``pliable report RUN_DIR``). It reads a run dir; nothing below this package imports it.

Nothing is imported here, so ``import pliable.report.page`` loads only what the page needs.
"""
