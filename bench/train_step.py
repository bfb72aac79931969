"""Steady-state time of the full adversarial training step (D update, then G update) on a device-resident
synthetic batch: images/s, step time, compile time, peak memory, XLA FLOPs and MFU. No TensorFlow.

  # GPU (defaults: 320 px, batches 1/8/32, float32 and bfloat16, output stride 16 and 8):
  python -m bench.train_step --peer --out bench/results/train.json --peak-tflops 989 --peak-tflops-fp32 495
  # this CPU, a few minutes:
  python -m bench.train_step --quick --peer --out bench/results/train_cpu.json

With `--peer` each configuration is also timed in PyTorch (bench/peer_torch.py, eager and torch.compile) in a
child process on the same device, right after the JAX run, and the row gets `torch_<variant>_over_jax`, the
PyTorch step time over the JAX one (> 1: JAX is faster). A child process, not the same interpreter, because the
two allocators would otherwise hold each other's GPU memory and spoil the peak-memory figures.

Each JAX configuration runs in a child process of its own too: JAX cannot reset its peak-memory counter, so one
process would report an earlier configuration's peak, and an out-of-memory configuration becomes an `error` row
instead of ending the run. The JSON is rewritten after every row, and `--budget-s` skips the configurations that
would start after the budget is spent, so a run cut off by a device lease keeps every finished row.

`--compile-only` compiles without running and reports the compiler's memory estimate (`xla_gib`): on the CPU
it estimates what a GPU configuration needs before one is available.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import (
    Budget,
    config_grid,
    device_peak_bytes,
    error_text,
    format_table,
    mfu,
    model_config,
    parse_list,
    synthetic_batch,
    time_calls,
    use_most_gpu_memory,
    write_json,
    xla_flops,
    xla_memory,
)

use_most_gpu_memory()

COLUMNS = (
    "config",
    "size",
    "batch",
    "dtype",
    "stride",
    "step_ms",
    "images_per_s",
    "compile_s",
    "gflops_per_step",
    "tflops_per_s",
    "mfu",
    "peak_gib",
    "peak_mib_per_image",
    "xla_gib",
    "torch_eager_over_jax",
    "torch_compile_over_jax",
    "error",
)
# bench/peer_torch.py's row keys; not imported from there, so this process never loads torch.
PEER_COLUMNS = (
    "variant",
    "size",
    "batch",
    "dtype",
    "stride",
    "step_ms",
    "images_per_s",
    "first_step_s",
    "g_params",
    "d_params",
    "error",
)


def bench_jax(
    config_name: str,
    size: int,
    batch: int,
    dtype: str,
    stride: int,
    *,
    warmup: int,
    steps: int,
    peak_tflops: float | None,
    compile_only: bool = False,
) -> dict[str, Any]:
    """Compile the sharded step ahead of time (timed), then time `steps` synchronised steps after `warmup`."""
    # Imported here: the parent process only launches children and must not open the GPU itself.
    import jax

    from alphagan_jax.train.state import create_state
    from alphagan_jax.train.step import make_mesh, make_sharded_step, replicated, shard_batch

    config = model_config(config_name, stride, dtype)
    mesh = make_mesh()
    state = jax.device_put(create_state(config, jax.random.PRNGKey(0), crop_size=size), replicated(mesh))
    data = shard_batch(synthetic_batch(batch, size), mesh)
    step = make_sharded_step(config.train, mesh)

    start = time.perf_counter()
    lowered = step.lower(state, data)
    compiled = lowered.compile()
    compile_s = time.perf_counter() - start
    # MFU counts the program's own FLOPs (the lowered HLO, the same on every backend); the compiled count
    # depends on the backend's fusions and XLA:GPU has returned -1 or undercounted dots in it.
    compiled_flops = xla_flops(compiled)
    flops = xla_flops(lowered) or compiled_flops
    memory = xla_memory(compiled)
    row = {
        "framework": "jax",
        "config": config_name,
        "size": size,
        "batch": batch,
        "dtype": dtype,
        "stride": stride,
        "devices": len(jax.devices()),
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "compile_s": compile_s,
        "flops_per_step": flops,
        "compiled_flops_per_step": compiled_flops,
        "gflops_per_step": flops / 1e9 if flops else None,
        "xla_memory": memory,
        "xla_gib": memory["total_bytes"] / 2**30 if memory and "total_bytes" in memory else None,
    }
    if compile_only:
        return row

    # The step donates its state: keep the newest one in a cell and feed it back (the last metrics too).
    cell = {"state": state}

    def run() -> Any:
        cell["state"], cell["metrics"] = compiled(cell["state"], data)
        return cell["state"], cell["metrics"]

    t = time_calls(run, jax.block_until_ready, warmup=warmup, steps=steps)
    seconds = t["median_s"]
    peak = device_peak_bytes()
    row.update(
        {
            **t,
            "step_ms": 1e3 * seconds,
            "images_per_s": batch / seconds,
            "tflops_per_s": flops / seconds / 1e12 if flops else None,
            "peak_tflops": peak_tflops,
            "mfu": mfu(flops, seconds, peak_tflops),
            "peak_bytes": peak,
            "peak_gib": peak / 2**30 if peak else None,
            # The whole process's peak (parameters and optimiser state included) over the images in the batch.
            "peak_mib_per_image": peak / 2**20 / batch if peak else None,
            "final_metrics": {k: float(v) for k, v in cell["metrics"].items()},  # from the last timed step
        }
    )
    return row


def _jax_key(args: argparse.Namespace, size: int, batch: int, dtype: str, stride: int) -> dict[str, Any]:
    """The keys that name a JAX row (what a failed or skipped row still carries)."""
    return {"framework": "jax", "config": args.config, "size": size, "batch": batch, "dtype": dtype, "stride": stride}


def _child_rows(cmd: list[str], timeout: float | None, timeout_note: str = "") -> list[dict[str, Any]] | str:
    """Run a bench script (`cmd` without its --out) in a child process and return the rows of the JSON it
    writes, or the error text when it times out, fails or writes no rows."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        try:
            subprocess.run([*cmd, "--out", str(out)], check=True, timeout=timeout)
            return json.loads(out.read_text())["rows"]
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout:.0f} s{timeout_note}"
        except (subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
            return f"{type(e).__name__}: {e}"


def run_child(
    args: argparse.Namespace, size: int, batch: int, dtype: str, stride: int, peak: float | None, timeout: float | None
) -> dict[str, Any]:
    """`bench_jax` for one configuration in a fresh process (its own peak-memory counter; an OOM or a crash
    there is this row's error, not the run's end)."""
    cmd = [
        sys.executable,
        "-m",
        "bench.train_step",
        "--child",
        "--config",
        args.config,
        "--sizes",
        str(size),
        "--batches",
        str(batch),
        "--dtypes",
        dtype,
        "--strides",
        str(stride),
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
    ]
    if peak:
        cmd += ["--peak-tflops", str(peak)]
    if args.compile_only:
        cmd.append("--compile-only")
    rows = _child_rows(cmd, timeout, " (budget)")
    if isinstance(rows, str) or not rows:
        return {**_jax_key(args, size, batch, dtype, stride), "error": rows or "the child wrote no row"}
    return rows[0]


def child_main(args: argparse.Namespace) -> int:
    """One configuration in this process; an exception (out of memory above all) is written as the row's
    error so the parent can tell it from a crash."""
    size, batch, dtype, stride = config_grid(args.sizes, args.batches, args.dtypes, args.strides)[0]
    try:
        row = bench_jax(
            args.config,
            size,
            batch,
            dtype,
            stride,
            warmup=args.warmup,
            steps=args.steps,
            peak_tflops=args.peak_tflops,
            compile_only=args.compile_only,
        )
    except Exception as e:  # noqa: BLE001 - a configuration that does not fit is a result
        traceback.print_exc()
        row = {**_jax_key(args, size, batch, dtype, stride), "error": error_text(e)}
    write_json(args.out, {"bench": "train_step", "rows": [row]})
    return 0


def run_peer(
    args: argparse.Namespace, size: int, batch: int, dtype: str, stride: int, budget: Budget
) -> list[dict[str, Any]]:
    """The PyTorch step for the same configuration, each variant in a child process of its own on the same
    device, so a `torch.compile` that runs past its time limit cannot take the eager result with it."""
    rows = []
    for variant in parse_list(args.peer_variants, str):
        if budget.left() <= 0:
            rows.append({"framework": "torch", "variant": variant, "error": Budget.SPENT})
            continue
        cmd = [
            sys.executable,
            "-m",
            "bench.peer_torch",
            "--config",
            args.config,
            "--size",
            str(size),
            "--batch",
            str(batch),
            "--dtype",
            dtype,
            "--stride",
            str(stride),
            "--variants",
            variant,
            "--warmup",
            str(args.warmup),
            "--steps",
            str(args.steps),
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        result = _child_rows(cmd, budget.timeout(args.peer_timeout))
        if isinstance(result, str):
            result = [{"framework": "torch", "variant": variant, "error": result}]
        rows += result
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="default", help="configs/<name>.py: default (ResNet-50) or test (tiny)")
    p.add_argument("--sizes", "--size", default="320")
    p.add_argument("--batches", "--batch", default="1,8,32")
    p.add_argument("--dtypes", "--dtype", default="float32,bfloat16")
    p.add_argument("--strides", "--stride", default="16,8")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized: ResNet-50 at 128 px, batch 2, float32, stride 16, 2 warm-up + 5 timed steps",
    )
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="device peak for MFU (H100 SXM dense bf16: 989); used for float32 too unless given below",
    )
    p.add_argument("--peak-tflops-fp32", type=float, default=None, help="peak for float32 rows (H100 TF32: 495)")
    p.add_argument("--peer", action="store_true", help="also time the PyTorch step (bench/peer_torch.py)")
    p.add_argument("--peer-variants", default="eager,compile")
    p.add_argument("--peer-timeout", type=float, default=1800, help="seconds for each PyTorch variant")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads for the peer (default: all cores)")
    p.add_argument(
        "--compile-only",
        action="store_true",
        help="compile each configuration and report XLA's FLOPs and memory estimate, without running",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="wall-clock budget: configurations that would start after it are skipped",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.batches, args.dtypes, args.strides = "128", "2", "float32", "16"
        args.warmup, args.steps = 2, 5
    if args.child:
        return child_main(args)

    budget = Budget(args.budget_s)
    rows: list[dict[str, Any]] = []
    peer_rows: list[dict[str, Any]] = []

    def save() -> None:
        if args.out:
            write_json(args.out, {"bench": "train_step", "rows": rows, "peer_rows": peer_rows})

    for size, batch, dtype, stride in config_grid(args.sizes, args.batches, args.dtypes, args.strides):
        if budget.left() <= 0:
            rows.append({**_jax_key(args, size, batch, dtype, stride), "error": Budget.SPENT})
            save()
            continue
        peak = args.peak_tflops_fp32 if dtype == "float32" and args.peak_tflops_fp32 else args.peak_tflops
        row = run_child(args, size, batch, dtype, stride, peak, budget.timeout())
        rows.append(row)
        save()  # before the peer, which may run until the budget ends
        # The peer runs even when JAX failed (PyTorch fitting where JAX ran out of memory is a result), but not
        # once the budget is spent.
        if args.peer and not args.compile_only and budget.left() > 0:
            for peer in run_peer(args, size, batch, dtype, stride, budget):
                peer_rows.append(peer)
                if peer.get("median_s") and row.get("median_s"):
                    row[f"torch_{peer['variant']}_step_ms"] = peer["step_ms"]
                    row[f"torch_{peer['variant']}_over_jax"] = peer["median_s"] / row["median_s"]
        save()
        print(format_table(rows[-1:], COLUMNS), flush=True)

    print("\nJAX adversarial step (torch_*_over_jax > 1: JAX is faster)")
    print(format_table(rows, COLUMNS))
    if peer_rows:
        print("\nPyTorch peer")
        print(format_table(peer_rows, PEER_COLUMNS))
    if args.out:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
