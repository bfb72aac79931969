"""Every command line, run as a user runs it: no library INFO chatter on stderr, and exit codes that say
whether anything failed (0 all done, 1 some images failed, 2 nothing done; train.py: 1 on an error)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import script, write_image

REPO_ROOT = Path(__file__).resolve().parents[2]

# What library chatter looks like: Python INFO records (absl's, JAX's), native absl/glog INFO lines
# ("I1130 07:01:02.1 ..."), and the notice absl prints before its first native line; any line at all
# from absl, Orbax, TensorFlow's oneDNN notice or JAX's TPU probe.
CHATTER = re.compile(r"^(INFO\b|I\d{4} )|absl|orbax|oneDNN|libtpu|xla_bridge", re.MULTILINE | re.IGNORECASE)


def run_cli(args: list[str], verbose: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `python ARGS` in the repository as a user would: no log-level variables of the test session."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "JAX_PLATFORMS", "ALPHAGAN_VERBOSE")
    }
    if verbose:
        env["ALPHAGAN_VERBOSE"] = "1"
    return subprocess.run(
        [script(args[0]), *args[1:]] if args[0].startswith("alphagan-") else [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_quiet(proc: subprocess.CompletedProcess) -> None:
    found = CHATTER.findall(proc.stderr)
    assert not found, f"library chatter on stderr: {found}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr


def _photo(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.stack([(xx * 3) % 256, (yy * 5) % 256, (xx + yy) % 256], -1).astype(np.uint8)


def _trimap(h: int, w: int) -> np.ndarray:
    t = np.zeros((h, w), np.uint8)
    t[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 128
    t[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = 255
    return t


@pytest.fixture
def test_set(tmp_path) -> Path:
    """A 'folder' layout (image/, trimap/, alpha/) with two good images and one corrupt one."""
    root = tmp_path / "set"
    for name in ("a", "b"):
        write_image(root / "image" / f"{name}.png", _photo(40, 56))
        write_image(root / "trimap" / f"{name}.png", _trimap(40, 56))
        write_image(root / "alpha" / f"{name}.png", (_trimap(40, 56) > 0).astype(np.uint8) * 255)
    (root / "image" / "c.png").write_bytes(b"corrupt")
    write_image(root / "trimap" / "c.png", _trimap(40, 56))
    write_image(root / "alpha" / "c.png", _trimap(40, 56))
    return root


@pytest.mark.slow
def test_predict_is_quiet_unless_verbose(trained_workdir, test_set, tmp_path):
    args = [
        "alphagan-predict",
        "--workdir",
        str(trained_workdir),
        "--image",
        str(test_set / "image" / "a.png"),
        "--trimap",
        str(test_set / "trimap" / "a.png"),
    ]
    quiet = run_cli([*args, "--out", str(tmp_path / "quiet")])
    assert quiet.returncode == 0, quiet.stderr
    assert_quiet(quiet)
    assert "wrote 1 photo" in quiet.stdout
    # The check can fail: verbose output holds exactly the records the default hides.
    verbose = run_cli([*args, "--out", str(tmp_path / "verbose")], verbose=True)
    assert verbose.returncode == 0 and CHATTER.search(verbose.stderr), verbose.stderr
    # A folder with a corrupt photo: the others are written, the bad one is named, status 1.
    folder = run_cli(
        [
            "alphagan-predict",
            "--workdir",
            str(trained_workdir),
            "--image-dir",
            str(test_set / "image"),
            "--trimap-dir",
            str(test_set / "trimap"),
            "--out",
            str(tmp_path / "folder"),
        ]
    )
    assert folder.returncode == 1 and "c.png" in folder.stderr
    assert_quiet(folder)
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == [
        "a.alpha.png",
        "a.cutout.png",
        "b.alpha.png",
        "b.cutout.png",
    ]


@pytest.mark.slow
def test_evaluate_is_quiet_and_exits_1_when_an_image_failed(trained_workdir, test_set, tmp_path):
    proc = run_cli(
        [
            "evaluate.py",
            "--workdir",
            str(trained_workdir),
            "--data",
            "folder",
            "--data-path",
            str(test_set),
            "--out",
            str(tmp_path / "eval"),
            "--workers",
            "1",
        ]
    )
    assert proc.returncode == 1 and "c.png" in proc.stderr, proc.stderr
    assert_quiet(proc)
    assert "2/3 images scored" in proc.stdout
    missing = run_cli(
        [
            "evaluate.py",
            "--workdir",
            str(tmp_path / "nothing"),
            "--data",
            "folder",
            "--data-path",
            str(test_set),
            "--out",
            str(tmp_path / "eval2"),
        ]
    )
    assert missing.returncode == 2 and "nothing" in missing.stderr
    assert_quiet(missing)


@pytest.mark.slow
def test_train_is_quiet(trained_workdir, tmp_path):
    # One more step on a copy of the session's 2-step run: TensorFlow's start-up, a restore, a step
    # (compiled once per session: the persistent cache), validation and two saves.
    workdir = tmp_path / "run"
    shutil.copytree(trained_workdir, workdir)
    proc = run_cli(["train.py", "--config", "configs/test.py", "--workdir", str(workdir), "--config.train.num_steps=3"])
    assert proc.returncode == 0, proc.stderr
    assert_quiet(proc)
    assert "resumed from" in proc.stderr + proc.stdout and (workdir / "checkpoints" / "3").is_dir()
    bad = run_cli(
        [
            "train.py",
            "--config",
            "configs/test.py",
            "--workdir",
            str(tmp_path / "bad"),
            "--config.data.source=folder",
            f"--config.data.path={tmp_path / 'no_such_data'}",
        ]
    )
    assert bad.returncode == 1 and "no_such_data" in bad.stderr
    assert_quiet(bad)


@pytest.mark.slow
def test_weights_is_quiet(tmp_path):
    from alphagan_jax.train.pretrained import _expected_shapes

    rng = np.random.default_rng(0)
    state = {k: rng.standard_normal(s, np.float32) for k, s in _expected_shapes().items()}
    state = {k: np.abs(v) if k.endswith("running_var") else v for k, v in state.items()}
    np.savez(tmp_path / "resnet50.npz", **state)
    proc = run_cli(
        [
            "alphagan-weights",
            "--torchvision",
            str(tmp_path / "resnet50.npz"),
            "--out",
            str(tmp_path / "weights"),
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert_quiet(proc)
    assert (tmp_path / "weights" / "encoder").is_dir()
    del state["conv1.weight"]
    np.savez(tmp_path / "broken.npz", **state)
    bad = run_cli(
        [
            "alphagan-weights",
            "--torchvision",
            str(tmp_path / "broken.npz"),
            "--out",
            str(tmp_path / "weights2"),
        ]
    )
    assert bad.returncode == 2 and "conv1.weight" in bad.stderr
    assert_quiet(bad)


@pytest.mark.slow
def test_data_tools_are_quiet(tmp_path):
    write_image(tmp_path / "alpha" / "good.png", (_trimap(30, 30) > 0).astype(np.uint8) * 255)
    (tmp_path / "alpha" / "bad.png").write_bytes(b"corrupt")
    trimaps = run_cli(["alphagan-trimap", "--alpha", str(tmp_path / "alpha"), "--out", str(tmp_path / "trimaps")])
    assert trimaps.returncode == 1 and "bad.png" in trimaps.stderr
    assert_quiet(trimaps)
    assert (tmp_path / "trimaps" / "good.png").is_file()
    preview = run_cli(
        [
            "alphagan-preview",
            "--config",
            "configs/test.py",
            "--out",
            str(tmp_path / "grid.png"),
            "--num",
            "2",
        ]
    )
    assert preview.returncode == 0, preview.stderr
    assert_quiet(preview)
    assert (tmp_path / "grid.png").is_file()
    photos = tmp_path / "photos"
    write_image(photos / "image" / "p.png", _photo(30, 30))
    write_image(photos / "alpha" / "p.png", (_trimap(30, 30) > 0).astype(np.uint8) * 255)
    fgs = run_cli(["alphagan-foregrounds", "--data", str(photos), "--out", str(tmp_path / "set")])
    assert fgs.returncode == 0, fgs.stderr
    assert_quiet(fgs)
    missing = run_cli(
        [
            "alphagan-foregrounds",
            "--data",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "set2"),
        ]
    )
    assert missing.returncode == 2 and "none" in missing.stderr
    assert_quiet(missing)


def test_native_info_lines_are_dropped_and_the_rest_passed_on(capfd):
    from alphagan_jax.cli.logs import native_info_filtered

    with native_info_filtered():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1796022038.468163    3050 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"W0000 00:00:1796022038.468163    3050 gpu.cc:12] no GPU found\n")
        print("python warning", file=sys.stderr)
    # (Under capfd, sys.stderr bypasses file descriptor 2, so the two lines' order is not checked.)
    lines = sorted(capfd.readouterr().err.splitlines())
    assert lines == ["W0000 00:00:1796022038.468163    3050 gpu.cc:12] no GPU found", "python warning"]


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_verbose_environment_variable(monkeypatch, value, expected):
    from alphagan_jax.cli.logs import verbose_requested

    monkeypatch.setenv("ALPHAGAN_VERBOSE", value)
    assert verbose_requested() is expected and verbose_requested(True) is True
