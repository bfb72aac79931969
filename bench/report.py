"""Markdown tables for docs/performance.md from the benches' JSON files.

  python -m bench.report bench/results/gpu            # every *.json in the folder
  python -m bench.report train.json inference.json

Each table row keeps its machine; each file's date and command are listed under the tables, so every figure
can be traced to the run that produced it. Reads JSON only: no JAX, torch or TensorFlow needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _num(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _error(row: dict[str, Any]) -> str:
    # The first line is enough in a table (an XLA out-of-memory message runs to pages).
    return str(row.get("error", "")).splitlines()[0][:80] if row.get("error") else ""


def _header(*columns: str) -> list[str]:
    """A markdown table's header and separator lines."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def _peer_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The PyTorch rows of a bench file: train_step's peer rows, or a bench/peer_torch.py file's rows."""
    return data.get("peer_rows", []) if data.get("bench") == "train_step" else data.get("rows", [])


def _key(row: dict[str, Any]) -> tuple:
    return tuple(row.get(k) for k in ("config", "size", "batch", "dtype", "stride"))


def peer_times(files: list[tuple[Path, dict[str, Any]]]) -> dict[tuple, float]:
    """(configuration, variant) -> PyTorch median step seconds, from train_step's peer rows and from
    bench/peer_torch.py's own files (the GPU suite runs torch.compile on its own, after the targets)."""
    times = {}
    for _, data in files:
        for r in _peer_rows(data):
            if r.get("median_s"):
                times[(_key(r), r["variant"])] = r["median_s"]
    return times


def _ratio(row: dict[str, Any], variant: str, peers: dict[tuple, float]) -> float | None:
    """PyTorch time over JAX time for one variant (> 1: JAX is faster)."""
    torch_s = peers.get((_key(row), variant))
    return torch_s / row["median_s"] if torch_s and row.get("median_s") else None


def train_table(files: list[tuple[Path, dict[str, Any]]], peers: dict[tuple, float]) -> list[str]:
    lines = _header(
        "device",
        "size",
        "dtype",
        "stride",
        "batch",
        "step ms",
        "images/s",
        "TFLOP/s",
        "MFU",
        "peak GiB",
        "MiB/image",
        "torch eager / JAX",
        "torch.compile / JAX",
        "note",
    )
    for _, data in files:
        for r in data["rows"]:
            lines.append(
                f"| {r.get('device_kind', '-')} | {r['size']} | {r['dtype']} | {r['stride']} | {r['batch']} "
                f"| {_num(r.get('step_ms'), '.1f')} | {_num(r.get('images_per_s'), '.1f')} "
                f"| {_num(r.get('tflops_per_s'), '.3g')} | {_num(r.get('mfu'), '.1%')} "
                f"| {_num(r.get('peak_gib'), '.2f')} | {_num(r.get('peak_mib_per_image'), '.0f')} "
                f"| {_num(_ratio(r, 'eager', peers), '.2f')} | {_num(_ratio(r, 'compile', peers), '.2f')} "
                f"| {_error(r)} |"
            )
    return lines


def peer_table(files: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Every PyTorch row, so that a configuration where PyTorch ran and JAX did not still shows."""
    lines = _header(
        "device", "variant", "size", "dtype", "stride", "batch", "step ms", "images/s", "first step s", "note"
    )
    for _, data in files:
        for r in _peer_rows(data):
            lines.append(
                f"| {r.get('device', '-')} | {r.get('variant', '-')} | {r.get('size', '-')} | {r.get('dtype', '-')} "
                f"| {r.get('stride', '-')} | {r.get('batch', '-')} | {_num(r.get('step_ms'), '.1f')} "
                f"| {_num(r.get('images_per_s'), '.1f')} | {_num(r.get('first_step_s'), '.1f')} | {_error(r)} |"
            )
    return lines


def inference_table(files: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    lines = _header("device", "size", "dtype", "padded", "latency ms", "compile s", "peak GiB", "note")
    for _, data in files:
        for r in data["rows"]:
            lines.append(
                f"| {data.get('device_kind', '-')} | {r['height']}x{r['width']} | {r['dtype']} "
                f"| {r.get('padded', '-')} | {_num(r.get('latency_ms'), '.1f')} | {_num(r.get('compile_s'), '.1f')} "
                f"| {_num(r.get('peak_gib'), '.2f')} | {_error(r)} |"
            )
        for m in data.get("mixed", []):
            warm = m.get("mean_warm_s_per_image")
            lines.append(
                f"| {data.get('device_kind', '-')} | {m['distinct_sizes']} mixed sizes | {m['dtype']} "
                f"| {m['distinct_buckets']} buckets | {_num(None if warm is None else 1e3 * warm, '.1f')} "
                f"| {m['compile_s']:.1f} ({m['num_compiles']} compiles) | - | |"
            )
    return lines


def load(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    files = []
    for p in paths:
        for f in sorted(p.glob("*.json")) if p.is_dir() else [p]:
            try:
                files.append((f, json.loads(f.read_text())))
            except (OSError, ValueError) as e:  # one bad file must not hide the others' results
                print(f"skipping {f}: not a readable bench JSON file ({e})", file=sys.stderr)
    return files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+", type=Path, help="JSON files or folders of them")
    args = p.parse_args(argv)
    files = load(args.paths)
    train = [(f, d) for f, d in files if d.get("bench") == "train_step"]
    peer = [(f, d) for f, d in files if d.get("bench") == "peer_torch"]
    infer = [(f, d) for f, d in files if d.get("bench") == "inference"]
    if not train and not infer:
        print("no train_step or inference results found", file=sys.stderr)
        return 1
    out: list[str] = []
    if train:
        table = train_table(train, peer_times(train + peer))
        out += ["Adversarial training step (D and G updates; ratios > 1: JAX is faster)", "", *table, ""]
    if any(d.get("peer_rows") for _, d in train) or peer:
        out += ["PyTorch peer", "", *peer_table(train + peer), ""]
    if infer:
        out += ["Full-resolution prediction, batch 1", "", *inference_table(infer), ""]
    out.append("Runs:")
    for f, d in train + peer + infer:
        env = d.get("env", {})
        out.append(
            f"- `{f.name}`: {env.get('time_utc', '?')}, commit {env.get('git_commit', '?')}, "
            f"`{' '.join(env.get('argv', []))}`"
        )
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
