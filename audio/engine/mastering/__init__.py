"""Mastering: small pure stages (EQ, compression, saturation, width, a true-peak limiter), the
loudness search that drives them, and the accurate true-peak meter the ceiling trusts.

This package's ``__init__`` imports nothing, so ``analyze`` can use the meter without loading
the stages' heavier dependencies.
"""
