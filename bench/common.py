"""Helpers shared by the benches: the JSON writer, the text table, step timing and XLA cost/memory read-outs.

Every bench writes one JSON object: its own result keys plus an `env` block (host, library versions,
devices, git commit, time) added by :func:`write_json`, so results from different machines stay comparable.
Nothing here imports JAX or torch at module level; the data bench runs without either.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def use_most_gpu_memory(fraction: float = 0.95) -> None:
    """Let JAX's GPU allocator take `fraction` of the memory instead of its default 75% (call before JAX starts).

    Every bench process has the GPU to itself (the PyTorch peer runs after the JAX child exits), and the memory
    targets (batch 32 at output stride 8 in 78 GB) would otherwise test JAX's default cap instead. A fraction the
    user set, under either name, is kept.
    """
    if not (os.environ.get("XLA_CLIENT_MEM_FRACTION") or os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION")):
        os.environ["XLA_CLIENT_MEM_FRACTION"] = str(fraction)


def _git_commit() -> str | None:
    """The checkout's commit ('-dirty' with uncommitted changes), else $BENCH_COMMIT: a copy of the working
    tree sent to a GPU machine may come without its .git folder, so the caller names the commit there."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("BENCH_COMMIT") or None


def environment() -> dict[str, Any]:
    """Host, Python and (where already imported) JAX/torch versions and devices."""
    env: dict[str, Any] = {
        "host": platform.node(),
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "argv": sys.argv,
    }
    # Only report libraries the bench imported: importing them here would cost seconds (and TF-free hosts).
    if "jax" in sys.modules:
        import jax

        env["jax"] = jax.__version__
        env["jax_backend"] = jax.default_backend()
        env["jax_devices"] = [str(d.device_kind) for d in jax.devices()]
    if "torch" in sys.modules:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["torch_cuda_device"] = torch.cuda.get_device_name()
    return env


def write_json(path: str | Path, results: dict[str, Any]) -> Path:
    """Write `results` plus an `env` block as indented JSON (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**results, "env": environment()}
    # Through a temporary file: a bench killed at its time limit mid-write must leave the last complete file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable))
    os.replace(tmp, path)
    return path


def _jsonable(x: Any) -> Any:
    # NumPy scalars and tuples-as-keys leak in from cost analyses; make them plain.
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A fixed-width text table of `columns` from dict rows (floats to 4 significant digits, None as '-')."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def time_calls(
    fn: Callable[[], Any], sync: Callable[[Any], Any], *, warmup: int, steps: int, time_first: bool = False
) -> dict[str, float]:
    """Run `fn` `warmup` times untimed, then `steps` times, each followed by `sync(result)` (a device wait),
    and summarise the per-call wall times in seconds.

    With `time_first`, one more call runs before the warm-up and its time (compilation, allocator and autotuning
    warm-up) is reported as `first_call_s`.

    The median is the figure to quote: it ignores the odd slow step (GC, a host hiccup) that a mean keeps.
    """
    first: dict[str, float] = {}
    if time_first:
        start = time.perf_counter()
        sync(fn())
        first["first_call_s"] = time.perf_counter() - start
    for _ in range(warmup):
        sync(fn())
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "mean_s": statistics.fmean(times),
        "min_s": min(times),
        "max_s": max(times),
        "steps": steps,
        "warmup": warmup,
        **first,
    }


def xla_flops(stage: Any) -> float | None:
    """FLOPs per call from the cost analysis of a lowered or compiled computation (a dict, or a list of one
    dict per computation in older JAX), or None where the backend gives none or a meaningless count (XLA:GPU
    has returned -1 for some programs)."""
    try:
        cost = stage.cost_analysis()
    except Exception:  # noqa: BLE001 - some backends raise instead of returning nothing
        return None
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return None
    flops = float(cost["flops"])
    return flops if flops > 0 else None


def xla_memory(compiled: Any) -> dict[str, int] | None:
    """The compiler's own memory estimate (arguments, outputs, temporaries), available on every backend.

    `total_bytes` is what the executable needs at once: its arguments, its temporaries and the outputs that
    do not reuse a donated argument's buffer. It is the buffer assignment of the backend that compiled it, so
    a CPU figure only approximates a GPU one (other fusions, no convolution workspaces).
    """
    try:
        m = compiled.memory_analysis()
    except Exception:  # noqa: BLE001
        return None
    if m is None:
        return None
    keys = ("argument_size_in_bytes", "output_size_in_bytes", "temp_size_in_bytes", "alias_size_in_bytes")
    out = {k: int(getattr(m, k)) for k in keys if hasattr(m, k)}
    if len(out) == len(keys):
        out["total_bytes"] = (
            out["argument_size_in_bytes"]
            + out["temp_size_in_bytes"]
            + out["output_size_in_bytes"]
            - out["alias_size_in_bytes"]
        )
    return out


def device_peak_bytes(device: Any = None) -> int | None:
    """Peak bytes in use on a JAX device since start-up (GPU/TPU allocators report it; the CPU gives None)."""
    import jax

    device = device or jax.devices()[0]
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001
        return None
    return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None


class Budget:
    """Wall-clock seconds left for a bench run (`None`: no limit), so that a run cut off by a device lease
    skips what it cannot finish instead of losing what it has."""

    SPENT = "skipped: budget spent"  # the `error` of a row that was not started

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float:
        return float("inf") if self.end is None else self.end - time.monotonic()

    def timeout(self, cap: float | None = None) -> float | None:
        """A subprocess timeout: the time left, at most `cap` (None when neither limits it)."""
        limits = [t for t in (cap, None if self.end is None else max(1.0, self.left())) if t is not None]
        return min(limits) if limits else None


def mfu(flops: float | None, seconds: float, peak_tflops: float | None) -> float | None:
    """Model FLOPs utilisation: achieved FLOP/s over the device's peak (None without both)."""
    if not flops or flops <= 0 or not peak_tflops or seconds <= 0:
        return None
    return flops / seconds / (peak_tflops * 1e12)


def error_text(e: BaseException) -> str:
    """A failed row's `error`: the exception's type and message, cut short (XLA's out-of-memory reports run
    to pages)."""
    return f"{type(e).__name__}: {str(e)[:2000]}"


def config_grid(sizes: str, batches: str, dtypes: str, strides: str) -> list[tuple[int, int, str, int]]:
    """(size, batch, dtype, stride) for every combination of the CLI lists, sizes outermost."""
    return list(itertools.product(parse_list(sizes), parse_list(batches), parse_list(dtypes, str), parse_list(strides)))


def parse_list(text: str, cast: Callable[[str], Any] = int) -> list[Any]:
    """'1,8,32' -> [1, 8, 32] (for CLI flags)."""
    return [cast(x) for x in text.split(",") if x.strip()]


def parse_size(text: str) -> tuple[int, int]:
    """'1080x1920' (height x width) or '800' -> (height, width)."""
    if "x" in text:
        h, w = text.lower().split("x")
        return int(h), int(w)
    return int(text), int(text)


def synthetic_batch(batch: int, size: int, seed: int = 0) -> dict[str, Any]:
    """A matting batch (NumPy, NHWC float32) with a soft disc per sample, so every loss has unknown pixels
    to average over: alpha ramps across the disc's rim, the trimap marks that rim unknown (0.5)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    alphas, trimaps = [], []
    for _ in range(batch):
        cy, cx = rng.uniform(0.3, 0.7, 2) * size
        radius, ramp = rng.uniform(0.2, 0.35) * size, max(2.0, 0.04 * size)
        r = np.hypot(yy - cy, xx - cx)
        alphas.append(np.clip((radius - r) / ramp + 0.5, 0.0, 1.0))
        trimaps.append(np.where(np.abs(r - radius) < 2 * ramp, 0.5, (r < radius).astype(np.float32)))
    alpha = np.stack(alphas)[..., None].astype(np.float32)
    trimap = np.stack(trimaps)[..., None].astype(np.float32)
    fg = rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
    bg = rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
    image = alpha * fg + (1 - alpha) * bg
    return {"image": image, "trimap": trimap, "alpha": alpha, "fg": fg, "bg": bg}


def model_config(name: str, output_stride: int, dtype: str) -> Any:
    """`configs/<name>.py`'s full config with the model's output stride and compute dtype overridden."""
    import importlib

    config = importlib.import_module(f"configs.{name}").get_config()
    config.model.output_stride = output_stride
    config.model.dtype = dtype
    return config
