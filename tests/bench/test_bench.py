"""The benches end to end on the CPU with the tiny model: their figures follow from their own timings, a failing
configuration is a row and not a crash, a spent budget skips what is left, and the JAX side never imports
TensorFlow or torch (the GPU machines they are meant for have no TensorFlow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def bench(module: str, *args: str, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],  # from the repository root, as documented
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


@pytest.mark.slow
def test_train_step_rows_errors_and_report(tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    # 66 px is not a multiple of 32: that configuration must come back as an error row, the next one must run.
    # The PyTorch peer where the torch extra is installed (Python 3.11 here; no torch wheel for 3.12).
    peer = ["--peer", "--peer-variants", "eager"] if importlib.util.find_spec("torch") else []
    done = bench(
        "train_step",
        "--config",
        "test",
        "--sizes",
        "66,64",
        "--batches",
        "2",
        "--dtypes",
        "float32",
        "--strides",
        "16",
        "--warmup",
        "1",
        "--steps",
        "3",
        "--peak-tflops",
        "2",
        *peer,
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    bad, good = result["rows"]

    assert bad["size"] == 66 and "multiples of 32" in bad["error"]
    assert "step_ms" not in bad

    assert good["size"] == 64 and "error" not in good
    assert good["steps"] == 3 and good["min_s"] <= good["median_s"] <= good["max_s"]
    seconds, flops = good["median_s"], good["flops_per_step"]
    assert flops > 0 and good["xla_gib"] > 0
    assert good["images_per_s"] == pytest.approx(2 / seconds)
    assert good["tflops_per_s"] == pytest.approx(flops / seconds / 1e12)
    assert good["mfu"] == pytest.approx(flops / seconds / 2e12)
    memory = good["xla_memory"]
    assert (
        good["xla_gib"] * 2**30
        == memory["argument_size_in_bytes"]
        + memory["temp_size_in_bytes"]
        + memory["output_size_in_bytes"]
        - memory["alias_size_in_bytes"]
    )
    assert all(abs(v) < 1e3 for v in good["final_metrics"].values())  # finite losses from the last timed step
    if peer:
        # PyTorch has no multiple-of-32 rule, so it runs at 66 px too; a ratio needs both sides.
        peer_66, peer_64 = result["peer_rows"]
        assert peer_66["size"] == 66 and peer_66["step_ms"] > 0 and "torch_eager_over_jax" not in bad
        assert good["torch_eager_over_jax"] == pytest.approx(peer_64["median_s"] / seconds)

    report = bench("report", str(out), check=True).stdout
    step_table = report.split("PyTorch peer")[0]
    rows = [line for line in step_table.splitlines() if line.startswith("| cpu") or line.startswith("| - ")]
    assert len(rows) == 2
    assert f"| {good['step_ms']:.1f} |" in rows[1]
    assert "multiples of 32" in rows[0]
    if peer:  # the report computes the ratio from the peer rows itself
        assert f"| {good['torch_eager_over_jax']:.2f} |" in rows[1]


@pytest.mark.slow
def test_spent_budget_skips_every_configuration(tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    done = bench(
        "train_step",
        "--config",
        "test",
        "--sizes",
        "64",
        "--batches",
        "1,2",
        "--dtypes",
        "float32",
        "--strides",
        "16",
        "--budget-s",
        "0",
        "--out",
        str(out),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["batch"] for r in rows] == [1, 2]
    assert all(r["error"] == "skipped: budget spent" for r in rows)


@pytest.mark.slow
def test_inference_bench_one_compile_per_bucket(tmp_path: Path) -> None:
    out = tmp_path / "inference.json"
    done = bench(
        "inference",
        "--config",
        "test",
        "--stride",
        "16",
        "--sizes",
        "64x96",
        "--dtypes",
        "float32",
        "--mixed",
        "64x96,60x90,64x64",
        "--warmup",
        "1",
        "--repeats",
        "2",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())
    (row,) = data["rows"]
    assert row["padded"] == "64x128" and row["num_compiles"] == 1
    assert row["latency_ms"] == pytest.approx(1e3 * row["median_s"])
    (mixed,) = data["mixed"]
    # The mixed run reuses the latency row's predictor: 64x96 and 60x90 fall in the 64x128 bucket it already
    # compiled, and only 64x64, a new bucket, compiles.
    assert [r["compiled"] for r in mixed["images"]] == [False, False, True]
    assert mixed["distinct_buckets"] == 2 and mixed["num_compiles"] == 1


@pytest.mark.slow
def test_jax_bench_imports_neither_tensorflow_nor_torch(tmp_path: Path) -> None:
    # The child process of bench/train_step.py, run in-process here, then the inference bench's imports.
    code = f"""
import sys
sys.argv = ["train_step.py"]
from bench import train_step
train_step.main(["--child", "--config", "test", "--sizes", "64", "--batches", "1", "--dtypes", "float32",
                 "--strides", "16", "--warmup", "0", "--steps", "1", "--out", {str(tmp_path / "row.json")!r}])
import bench.inference
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & {{"tensorflow", "tensorflow_datasets", "torch"}})
assert not loaded, loaded
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "error" not in json.loads((tmp_path / "row.json").read_text())["rows"][0]


@pytest.mark.slow
def test_report_sets_a_separate_peer_run_beside_its_jax_row(tmp_path: Path) -> None:
    # The GPU suite times torch.compile in its own part (bench/peer_torch.py): the report must pair it with
    # the JAX row of the same configuration, and with no other.
    key = {"config": "default", "size": 320, "batch": 32, "dtype": "bfloat16", "stride": 16}
    jax_rows = [
        {**key, "median_s": 0.02, "step_ms": 20.0, "device_kind": "H100"},
        {**key, "stride": 8, "median_s": 0.04, "step_ms": 40.0, "device_kind": "H100"},
    ]
    (tmp_path / "a.json").write_text(
        json.dumps(
            {"bench": "train_step", "rows": jax_rows, "peer_rows": [{**key, "variant": "eager", "median_s": 0.03}]}
        )
    )
    (tmp_path / "b.json").write_text(
        json.dumps({"bench": "peer_torch", "rows": [{**key, "variant": "compile", "median_s": 0.05}]})
    )
    report = bench("report", str(tmp_path), check=True).stdout
    os16, os8 = [line.split("|") for line in report.splitlines() if line.startswith("| H100")]
    eager, compiled = -4, -3  # the two ratio columns
    assert (os16[eager].strip(), os16[compiled].strip()) == ("1.50", "2.50")
    assert (os8[eager].strip(), os8[compiled].strip()) == ("-", "-")


@pytest.mark.slow
def test_gpu_suite_script_runs_and_skips_every_part_without_budget(tmp_path: Path) -> None:
    # The suite is meant for one unattended device call: catch shell errors (set -u, quoting) here, cheaply.
    env = {
        **os.environ,
        "CONFIG": "test",
        "SIZE": "64",
        "BUDGET_S": "0",
        "OUT": str(tmp_path),
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", "bench/gpu_suite.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    skipped = [line for line in done.stdout.splitlines() if line.endswith("skipped, budget spent")]
    assert len(skipped) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suite.log"]


def test_gpu_memory_fraction_keeps_the_users_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.common import use_most_gpu_memory

    for name in ("XLA_CLIENT_MEM_FRACTION", "XLA_PYTHON_CLIENT_MEM_FRACTION"):
        monkeypatch.delenv(name, raising=False)
    use_most_gpu_memory()
    assert os.environ["XLA_CLIENT_MEM_FRACTION"] == "0.95"
    # A fraction under the deprecated name stays alone: jax raises when both names are set.
    monkeypatch.delenv("XLA_CLIENT_MEM_FRACTION")
    monkeypatch.setenv("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.5")
    use_most_gpu_memory()
    assert "XLA_CLIENT_MEM_FRACTION" not in os.environ
    assert os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.5"
