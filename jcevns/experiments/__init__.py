"""Experiment descriptions: one module per data set (data plus a detector response)."""
