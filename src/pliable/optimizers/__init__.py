"""Optimizers: write demos and instructions into a program's predictors (issues 4 and 5).

They read traces recorded by :func:`pliable.trace` and write ``predictor.demos`` and
``predictor.signature`` (new instructions); nothing below this package imports it.
"""
