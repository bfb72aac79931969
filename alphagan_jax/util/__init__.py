"""Leaves every layer may use: the spawn process pool with an ordered bounded map (`process_map`), worker
processes' captured warnings (`worker_logs`), and image grids for TensorBoard and previews (`grids`).

Layer 1, above only the package root: imports nothing of alphagan_jax (tests/test_import_layers.py
checks every layer's rule).
"""
