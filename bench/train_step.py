"""Steady-state time of the full adversarial training step (D update, then G update) on a device-resident
synthetic batch: images/s, step time, compile time, peak memory, XLA FLOPs and MFU. No TensorFlow.

  # GPU (defaults: 320 px, batches 1/8/32, float32 and bfloat16, output stride 16 and 8):
  python bench/train_step.py --peer --out bench/results/train.json --peak-tflops 989 --peak-tflops-fp32 495
  # this CPU, a few minutes:
  python bench/train_step.py --quick --peer --out bench/results/train_cpu.json

With `--peer` each configuration is also timed in PyTorch (bench/peer_torch.py, eager and torch.compile) in a
child process on the same device, right after the JAX run, and the row gets `torch_<variant>_over_jax`, the
PyTorch step time over the JAX one (> 1: JAX is faster). A child process, not the same interpreter, because the
two allocators would otherwise hold each other's GPU memory and spoil the peak-memory figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# JAX would otherwise take 75% of GPU memory at start-up, leaving the PyTorch child too little.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

from alphagan_jax.train_state import create_state  # noqa: E402
from alphagan_jax.train_step import make_mesh, make_sharded_step, replicated, shard_batch  # noqa: E402
from bench.common import (  # noqa: E402
    device_peak_bytes,
    format_table,
    mfu,
    model_config,
    parse_list,
    synthetic_batch,
    time_calls,
    write_json,
    xla_flops,
    xla_memory,
)

PEER = Path(__file__).resolve().parent / "peer_torch.py"
COLUMNS = ("config", "size", "batch", "dtype", "stride", "step_ms", "images_per_s", "compile_s", "gflops_per_step",
           "tflops_per_s", "mfu", "peak_gib", "torch_eager_over_jax", "torch_compile_over_jax")
# bench/peer_torch.py's row keys; not imported from there, so this process never loads torch.
PEER_COLUMNS = ("variant", "size", "batch", "dtype", "stride", "step_ms", "images_per_s", "first_step_s", "g_params",
                "d_params", "error")


def bench_jax(config_name: str, size: int, batch: int, dtype: str, stride: int, *, warmup: int, steps: int,
              peak_tflops: float | None) -> dict[str, Any]:
    """Compile the sharded step ahead of time (timed), then time `steps` synchronised steps after `warmup`."""
    config = model_config(config_name, stride, dtype)
    mesh = make_mesh()
    state = jax.device_put(create_state(config, jax.random.PRNGKey(0), crop_size=size), replicated(mesh))
    data = shard_batch(synthetic_batch(batch, size), mesh)
    step = make_sharded_step(config.train, mesh)

    start = time.perf_counter()
    compiled = step.lower(state, data).compile()
    compile_s = time.perf_counter() - start
    flops = xla_flops(compiled)

    # The step donates its state: keep the newest one in a cell and feed it back (the last metrics too).
    cell = {"state": state}

    def run() -> Any:
        cell["state"], cell["metrics"] = compiled(cell["state"], data)
        return cell["state"], cell["metrics"]

    t = time_calls(run, jax.block_until_ready, warmup=warmup, steps=steps)
    metrics = cell["metrics"]  # from the last timed step
    seconds = t["median_s"]
    peak = device_peak_bytes()
    row = {
        "framework": "jax", "config": config_name, "size": size, "batch": batch, "dtype": dtype, "stride": stride,
        "devices": len(jax.devices()), "backend": jax.default_backend(),
        **t,
        "step_ms": 1e3 * seconds,
        "images_per_s": batch / seconds,
        "compile_s": compile_s,
        "flops_per_step": flops,
        "gflops_per_step": flops / 1e9 if flops else None,
        "tflops_per_s": flops / seconds / 1e12 if flops else None,
        "peak_tflops": peak_tflops,
        "mfu": mfu(flops, seconds, peak_tflops),
        "peak_bytes": peak,
        "peak_gib": peak / 2**30 if peak else None,
        "xla_memory": xla_memory(compiled),
        "final_metrics": {k: float(v) for k, v in metrics.items()},
    }
    return row


def run_peer(args: argparse.Namespace, size: int, batch: int, dtype: str, stride: int) -> list[dict[str, Any]]:
    """The PyTorch step for the same configuration, in a child process on the same device."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.json"
        cmd = [sys.executable, str(PEER), "--config", args.config, "--size", str(size), "--batch", str(batch),
               "--dtype", dtype, "--stride", str(stride), "--variants", args.peer_variants,
               "--warmup", str(args.warmup), "--steps", str(args.steps), "--out", str(out)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        try:
            subprocess.run(cmd, check=True, timeout=args.peer_timeout)
            return json.loads(out.read_text())["rows"]
        except (subprocess.SubprocessError, OSError, ValueError) as e:
            return [{"framework": "torch", "variant": v, "error": f"{type(e).__name__}: {e}"}
                    for v in parse_list(args.peer_variants, str)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="default", help="configs/<name>.py: default (ResNet-50) or test (tiny)")
    p.add_argument("--sizes", "--size", default="320")
    p.add_argument("--batches", "--batch", default="1,8,32")
    p.add_argument("--dtypes", "--dtype", default="float32,bfloat16")
    p.add_argument("--strides", "--stride", default="16,8")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--quick", action="store_true",
                   help="CPU-sized: ResNet-50 at 128 px, batch 2, float32, stride 16, 2 warm-up + 5 timed steps")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="device peak for MFU (H100 SXM dense bf16: 989); used for float32 too unless given below")
    p.add_argument("--peak-tflops-fp32", type=float, default=None, help="peak for float32 rows (H100 TF32: 495)")
    p.add_argument("--peer", action="store_true", help="also time the PyTorch step (bench/peer_torch.py)")
    p.add_argument("--peer-variants", default="eager,compile")
    p.add_argument("--peer-timeout", type=float, default=1800)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads for the peer (default: all cores)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.batches, args.dtypes, args.strides = "128", "2", "float32", "16"
        args.warmup, args.steps = 2, 5

    rows, peer_rows = [], []
    for size in parse_list(args.sizes):
        for batch in parse_list(args.batches):
            for dtype in parse_list(args.dtypes, str):
                for stride in parse_list(args.strides):
                    peak = args.peak_tflops_fp32 if dtype == "float32" and args.peak_tflops_fp32 else args.peak_tflops
                    row = bench_jax(args.config, size, batch, dtype, stride, warmup=args.warmup, steps=args.steps,
                                    peak_tflops=peak)
                    if args.peer:
                        for peer in run_peer(args, size, batch, dtype, stride):
                            peer_rows.append(peer)
                            if peer.get("median_s"):
                                row[f"torch_{peer['variant']}_step_ms"] = peer["step_ms"]
                                row[f"torch_{peer['variant']}_over_jax"] = peer["median_s"] / row["median_s"]
                    rows.append(row)
                    gc.collect()  # drop this configuration's device buffers before the next one
                    print(format_table(rows[-1:], COLUMNS), flush=True)

    print("\nJAX adversarial step (torch_*_over_jax > 1: JAX is faster)")
    print(format_table(rows, COLUMNS))
    if peer_rows:
        print("\nPyTorch peer")
        print(format_table(peer_rows, PEER_COLUMNS))
    if args.out:
        print(f"wrote {write_json(args.out, {'bench': 'train_step', 'rows': rows, 'peer_rows': peer_rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
