"""Experiments described as data plus a detector response (one module per data set)."""
