"""A run directory that survives people and storage: one trainer at a time (the workdir lease), a resume past an
unreadable checkpoint, and one-line errors for a full disk, a read-only workdir or a workdir that is a file.

Real train.py processes on real files; configs/test.py. The trainers share one module fixture (a 4-step run
saving every step) whose workdir the other tests copy and damage.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import train_cmd, truncate, unavailable

from alphagan_jax.distributed import workdir_lease
from alphagan_jax.distributed.workdir_lease import WorkdirBusyError, WorkdirLease
from alphagan_jax.train.checkpoint import restore_generator

REPO_ROOT = Path(__file__).resolve().parents[2]
QUIET = ("--config.train.image_every=0",)


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ALPHAGAN_VERBOSE", "ALPHAGAN_DISTRIBUTED")}
    return {**env, **extra}


def run(cmd: list[str], timeout: int = 900, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO_ROOT, env=user_env(**extra), capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if x.startswith("error:")]


def snapshot(workdir: Path) -> dict[str, int]:
    return {str(p.relative_to(workdir)): p.stat().st_size for p in workdir.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------ the lease's rules


def test_lease_rules(tmp_path, caplog):
    held = WorkdirLease(tmp_path / "w")
    held.acquire()
    record = json.loads((tmp_path / "w" / "lease.json").read_text())
    assert {"host", "pid", "started", "heartbeat"} <= record.keys() and record["pid"] == os.getpid()
    # A live holder (this very process): refused, naming it.
    with pytest.raises(WorkdirBusyError, match=f"pid {os.getpid()} on host .*last heartbeat"):
        WorkdirLease(tmp_path / "w").acquire()
    # Another host's lease is judged by its heartbeat alone.
    other = {**record, "host": "elsewhere", "token": "x"}
    (tmp_path / "w" / "lease.json").write_text(json.dumps(other))
    with pytest.raises(WorkdirBusyError, match="elsewhere"):
        WorkdirLease(tmp_path / "w", stale_after=60).acquire()
    assert not held.refresh() and held.lost, "a lease taken by another run must be noticed by its old holder"
    other["heartbeat"] = time.time() - 5
    (tmp_path / "w" / "lease.json").write_text(json.dumps(other))
    taker = WorkdirLease(tmp_path / "w", stale_after=2)
    with caplog.at_level("WARNING"):
        taker.acquire()
    assert "took over" in caplog.text and "no heartbeat for 5 s" in caplog.text
    # The heartbeat moves; release removes only our own lease.
    before = json.loads(taker.path.read_text())["heartbeat"]
    taker.start_heartbeat()
    time.sleep(0.6)
    assert json.loads(taker.path.read_text())["heartbeat"] > before
    taker.release()
    assert not taker.path.exists()


def test_lease_of_a_dead_process_on_this_machine_is_taken_at_once(tmp_path):
    code = (
        "from alphagan_jax.distributed.workdir_lease import hold; import sys\n"
        "hold(sys.argv[1]); print('held', flush=True)\n"
        "import time; time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(WorkdirBusyError, match=f"pid {holder.pid}"):
        WorkdirLease(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lease = WorkdirLease(tmp_path)  # default timeout (300 s): the dead pid alone makes it stale
    lease.acquire()
    assert lease.taken_over["pid"] == holder.pid
    lease.release()


def test_object_store_workdir_takes_no_lease(caplog):
    with caplog.at_level("WARNING"):
        assert workdir_lease.hold("gs://bucket/runs/x") is None
    assert "object store" in caplog.text


# --------------------------------------------------------------------------------------- real trainers


@pytest.fixture(scope="module")
def two_trainers(tmp_path_factory):
    """Trainer A (4 steps, a checkpoint every step, validation at 2 and 4) and, once A holds the workdir,
    trainer B with the same command. Returns (workdir, A's result, B's result, whether A was still training
    when B had exited, A's pid)."""
    workdir = tmp_path_factory.mktemp("two_trainers") / "run"
    cmd = train_cmd(workdir, *QUIET, "--config.train.ckpt_every=1", "--config.train.keep=4")
    a = subprocess.Popen(cmd, cwd=REPO_ROOT, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (workdir / "lease.json").exists():
            assert a.poll() is None and time.monotonic() < deadline, "trainer A never took the lease"
            time.sleep(0.1)
        b = run(cmd, timeout=120)  # a hang guard, not a claim
        # B gave up at once rather than waiting for A's lease to go stale or for A to finish: A still trains.
        a_still_training = a.poll() is None
        out, err = a.communicate(timeout=400)
    finally:
        if a.poll() is None:
            a.kill()
    return workdir, subprocess.CompletedProcess(cmd, a.returncode, out, err), b, a_still_training, a.pid


@pytest.mark.slow
def test_second_trainer_exits_2_naming_the_holder(two_trainers):
    _, _, b, a_still_training, pid_a = two_trainers
    assert b.returncode == 2, b.stderr
    assert a_still_training, "the second trainer exited only after the first had finished"
    (line,) = error_lines(b.stderr)
    assert f"pid {pid_a} on host" in line and "last heartbeat" in line, line
    assert "Traceback" not in b.stderr


@pytest.mark.slow
def test_first_trainer_finishes_with_every_checkpoint(two_trainers):
    workdir, a, *_ = two_trainers
    assert a.returncode == 0, a.stderr[-3000:]
    assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()) == [1, 2, 3, 4]
    for step in (1, 2, 3, 4):
        assert restore_generator(workdir, step=step)[2] == step
    steps = [json.loads(x)["step"] for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and set(steps) == {1, 2, 3, 4}, f"one trainer's rows only: {steps}"
    assert not (workdir / "lease.json").exists(), "a finished run gives its lease back"
    # Rounded validation figures, and a last line that says where the checkpoints are and how to use them.
    out = (a.stdout + a.stderr).replace("\r", "\n")
    sads = re.findall(r"validation SAD (\S+) MSE (\S+)", out)
    assert len(sads) == 2 and all(len(x) <= 6 for pair in sads for x in pair), sads
    (last,) = [x for x in out.splitlines() if x.startswith("done at step 4")]
    assert f"{workdir}/checkpoints/4" in last and f"{workdir}/best/" in last
    assert f"alphagan-predict --workdir {workdir} --best" in last


@pytest.mark.slow
def test_stale_lease_taken_over_and_resume_past_a_truncated_checkpoint(two_trainers, tmp_path):
    src, *_ = two_trainers
    workdir = tmp_path / "run"
    shutil.copytree(src, workdir)
    truncate(workdir / "checkpoints" / "4")
    broken = snapshot(workdir / "checkpoints" / "4")
    # evaluate.py and predict name the unreadable step and the others, exit 2, no traceback.
    ev = run(
        [
            sys.executable,
            "evaluate.py",
            "--workdir",
            str(workdir),
            "--data",
            "synthetic",
            "--num",
            "1",
            "--out",
            str(tmp_path / "eval"),
        ],
        timeout=120,
    )
    assert ev.returncode == 2, ev.stderr
    (line,) = error_lines(ev.stderr)
    assert f"checkpoint {workdir}/checkpoints/4 cannot be read" in line and "other steps there: 1, 2, 3" in line
    assert "Traceback" not in ev.stderr
    # A holder killed with -9 leaves its lease behind.
    code = (
        "from alphagan_jax.distributed.workdir_lease import hold; import sys\n"
        "hold(sys.argv[1]); print('held', flush=True)\n"
        "import time; time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(workdir)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    assert json.loads((workdir / "lease.json").read_text())["pid"] == holder.pid

    out = run(train_cmd(workdir, *QUIET, "--config.train.val_every=0", "--config.train.keep=4"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert f"took over {workdir}/lease.json from pid {holder.pid}" in out.stderr
    # The reason (TensorStore's "Requested byte range ... is not valid") is elided in the middle when long.
    (warning,) = [line for line in out.stderr.splitlines() if "cannot be restored" in line]
    assert f"checkpoint {workdir}/checkpoints/4 cannot be restored (" in warning, warning
    assert "resuming from step 3" in warning, warning
    assert "resumed from" in out.stderr + out.stdout and "at step 3" in out.stderr + out.stdout
    (aside,) = (workdir / "unreadable").iterdir()
    assert aside.name.startswith("checkpoints-4-")
    assert snapshot(aside) == broken, "the broken checkpoint is kept aside, byte for byte"
    assert restore_generator(workdir)[2] == 4  # step 4 trained again from step 3


def saved_steps(workdir: Path) -> set[int]:
    folder = workdir / "checkpoints"
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()


@pytest.mark.slow
def test_a_run_whose_lease_is_taken_stops_before_its_next_save(tmp_path):
    """A real trainer, frozen (SIGSTOP) until its heartbeat is stale; a second lease holder takes the workdir
    over through the library's own takeover; thawed, the trainer notices at its next heartbeat, stops before
    its next save with one line naming why, and leaves the new holder's lease in place."""
    workdir = tmp_path / "run"
    steps = 40
    overrides = (
        *QUIET,
        f"--config.train.num_steps={steps}",
        "--config.train.ckpt_every=1",
        "--config.train.val_every=0",
        "--config.train.keep=100",
    )
    # A 2-s stale time makes the trainer's heartbeat beat every 0.2 s (stale / 10), so it notices quickly.
    env = user_env(ALPHAGAN_LEASE_STALE_SECONDS="2")
    a = subprocess.Popen(
        train_cmd(workdir, *overrides),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    taker = None
    try:
        deadline = time.monotonic() + 300  # a hang guard
        while len(saved_steps(workdir)) < 2:
            assert a.poll() is None and time.monotonic() < deadline, "the trainer never saved two checkpoints"
            time.sleep(0.05)
        os.kill(a.pid, signal.SIGSTOP)
        time.sleep(2.5)  # no heartbeat for longer than a 1-s stale time
        taker = WorkdirLease(workdir, stale_after=1.0)
        taker.acquire()  # takes over: the holder's heartbeat is stale (logged as a warning)
        before = saved_steps(workdir)
        os.kill(a.pid, signal.SIGCONT)
        out, err = a.communicate(timeout=300)
    finally:
        if a.poll() is None:
            os.kill(a.pid, signal.SIGCONT)
            a.kill()
    assert a.returncode == 1, err
    (line,) = error_lines(err)
    assert "another run took over" in line and str(workdir) in line, line
    after = saved_steps(workdir) - before
    # At most the save whose lease check ran before the heartbeat thread woke; never the rest of the run.
    assert len(after) <= 1 and max(before | after) < steps, (sorted(before), sorted(after))
    held = json.loads((workdir / "lease.json").read_text())
    assert held["token"] == taker.record["token"], "the stopped run removed the new holder's lease"
    taker.release()


@pytest.mark.slow
def test_no_checkpoint_restores_exit_1_nothing_moved(two_trainers, tmp_path):
    src, *_ = two_trainers
    workdir = tmp_path / "run"
    shutil.copytree(src, workdir)
    for step_dir in (workdir / "checkpoints").iterdir():
        truncate(step_dir)
    before = snapshot(workdir)
    out = run(train_cmd(workdir, *QUIET, "--config.train.val_every=0", "--config.train.num_steps=6"))
    assert out.returncode == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    (line,) = error_lines(out.stderr)
    assert all(f"{workdir}/checkpoints/{s}:" in line for s in (1, 2, 3, 4)) and "Nothing was moved" in line
    after = snapshot(workdir)
    assert {k: v for k, v in after.items() if k.startswith("checkpoints")} == {
        k: v for k, v in before.items() if k.startswith("checkpoints")
    }
    assert not (workdir / "unreadable").exists()


# ------------------------------------------------------------------------------------- storage failures


@pytest.fixture
def small_disk(tmp_path):
    """A real 6 MB file system: room for one checkpoint of configs/test.py (3.8 MB), not two."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], check=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.CalledProcessError) as e:
        unavailable(f"cannot mount a small tmpfs here ({getattr(e, 'stderr', b'') or e}): needs root")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


@pytest.mark.slow
def test_full_disk_one_line_last_checkpoint_kept_and_cleaned_next_start(small_disk):
    workdir = small_disk / "run"
    out = run(train_cmd(workdir, *QUIET, "--config.train.val_every=0"))
    assert out.returncode == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    (line,) = error_lines(out.stderr)
    assert "No space left on device" in line and str(workdir) in line, line
    said = [ln for ln in out.stderr.splitlines() if ln.strip() and not ln.startswith("train:")]  # no progress bar
    assert len(said) < 6, said
    assert restore_generator(workdir)[2] == 2, "the last good checkpoint restores"
    tmp = [p.name for p in (workdir / "checkpoints").iterdir() if "tmp" in p.name]
    assert tmp, "the failed save's temporary folder (the test's premise)"
    # The next start removes it, and the space it held.
    from alphagan_jax.train.checkpoint import RunCheckpoints

    RunCheckpoints(workdir).close()
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["2"]


@pytest.mark.slow
def test_workdir_that_is_a_file_or_read_only(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    out = run(train_cmd(path), timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    (line,) = error_lines(out.stderr)
    assert f"{path} is a file" in line
    ro = tmp_path / "ro"
    ro.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], check=True, capture_output=True, timeout=30
        )
    except (OSError, subprocess.CalledProcessError) as e:
        unavailable(f"cannot mount a read-only tmpfs here ({e}): needs root")
    try:
        out = run(train_cmd(ro / "run"), timeout=120)
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True, timeout=30)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    (line,) = error_lines(out.stderr)
    assert "Read-only file system" in line and str(ro / "run") in line, line
