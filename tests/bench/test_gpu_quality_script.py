"""bench/gpu_quality.sh, the one-call GPU run of the Quality recipe, on the CPU with a tiny network and
TensorFlow and pymatting blocked (the GPU hosts have neither): shell errors, a missed import or a bad tarball would
otherwise surface only in a scarce device lease."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from helpers import script

TINY = (
    "--config.train.batch_size=2 --config.data.crop_size=64 --config.data.crop_choices=(64,) "
    "--config.model.width=8 --config.model.stage_sizes=(1,1,1,1) --config.model.aspp_channels=16 "
    "--config.model.decoder_base=8 --config.model.dtype=float32 --config.train.num_steps=2 "
    "--config.train.val_every=2 --config.train.image_every=2"
)


@pytest.mark.slow
def test_gpu_quality_script_trains_and_scores_without_tensorflow(tmp_path: Path, shared_data: Path) -> None:
    photos = shared_data / "alphamatting"
    names = sorted(p.stem for p in (photos / "image").iterdir())
    train = tmp_path / "am-train"
    # Two training photos are enough to exercise the run; the held-out five are excluded as in the README.
    subprocess.run(
        [
            script("alphagan-foregrounds"),
            "--data",
            str(photos),
            "--out",
            str(train),
            "--exclude",
            ",".join(names[2:]),
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
        capture_output=True,
    )
    stub = tmp_path / "stub" / "tensorflow"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('TensorFlow is absent in this test')\n")
    (stub.parent / "pymatting").mkdir()  # nor have they pymatting: the refined row is left out
    (stub.parent / "pymatting" / "__init__.py").write_text("raise ImportError('pymatting is absent here')\n")
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": str(stub.parent),
        "PYTHON": sys.executable,
        "OUT": str(out),
        "SHARED": str(shared_data),
        "ARGS": f"{TINY} --config.data.path={train}",
    }
    done = subprocess.run(
        ["bash", "bench/gpu_quality.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    log = (out / "suite.log").read_text() if (out / "suite.log").exists() else ""
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:] + log[-3000:]
    assert "train exit status 0" in log
    assert sorted(p.name for p in out.iterdir()) == ["results.tgz", "suite.log"]
    with tarfile.open(out / "results.tgz") as tar:
        members = tar.getnames()
        quality = json.load(tar.extractfile("./quality/quality.json"))
        metrics = [json.loads(r) for r in tar.extractfile("./run/metrics.jsonl").read().decode().splitlines()]
    assert len([m for m in members if m.startswith("./quality/mattes/") and m.endswith(".ours.png")]) == 10
    assert not [m for m in members if "checkpoints" in m]
    assert {(r["trimap"], r["method"]) for r in quality["rows"]} == {("trimap", "ours"), ("trimap2", "ours")}
    assert sorted({r["name"] for r in quality["rows"]}) == ["GT03", "GT09", "GT15", "GT20", "GT24"]
    assert any("val/sad" in m for m in metrics)
