"""Benchmarks: each writes JSON and prints a table, with the baseline a user would pick instead run in the
same call (pymatting for quality and latency, PyTorch for speed). One way to run each, from the repository
root: ``python -m bench.NAME --help`` (train_step, inference, peer_torch, data_pipeline, export_routes,
quality, refine_cv, refine_speed, classical, report); the GPU suites are ``bash bench/gpu_suite.sh`` and
``bash bench/gpu_quality.sh``. Test-only references live here too, outside the installed package:
``torch_reference`` (the PyTorch peer model) and ``refine_jax`` (the refinement on the accelerator).
"""
