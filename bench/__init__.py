"""Benchmarks (``make bench``): speed and peak memory of numkeras vs tf-keras, each case in a
fresh subprocess so that imports and peak RSS do not leak between cases."""
