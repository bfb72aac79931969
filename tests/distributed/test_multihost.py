"""train.py as several processes, the way a pod runs it on every host: 2 processes x 2 CPU devices each,
joined by jax.distributed (gloo collectives) on one machine, with configs/test.py.

Each run is a module fixture shared by the tests that read it (a 2-process start costs tens of seconds on
2 cores). The processes run tests/multihost_worker.py, which is train.py plus a record of what each host
trained on and ended with. Every process is started with a time limit and stopped when its test ends,
also on a failure.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pytest
from helpers import sample_hashes, script, truncate, write_image

from alphagan_jax.distributed import local_launch as launch
from alphagan_jax.train.checkpoint import RunCheckpoints, restore_generator
from alphagan_jax.train.state import create_state
from alphagan_jax.train.trainer import train_and_evaluate
from configs import test as test_config

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = 4  # configs/test.py: validation and image grids at steps 2 and 4
QUIET = ("--config.train.val_every=0", "--config.train.image_every=0")
EVERY_STEP = "--config.train.ckpt_every=1"
RUN_TIMEOUT = 420  # seconds for one run; a 2-process run takes 30-130 s on 2 busy cores
LR = test_config.get_config().train.lr


@dataclass
class Run:
    workdir: Path
    record: Path
    logs: Path
    codes: list[int]
    console: str = ""  # the launcher's output: process 0's, streamed

    def host(self, i: int) -> list[np.ndarray]:
        """Process i's final state (its own copy of the replicated arrays), as flat leaves."""
        with np.load(self.record / f"process_{i}.npz") as z:
            return [z[f"arr_{k}"] for k in range(len(z.files))]

    def hashes(self, i: int) -> list[list[str]]:
        return json.loads((self.record / f"process_{i}.json").read_text())["hashes"]

    def final_step(self, i: int) -> int:
        return json.loads((self.record / f"process_{i}.json").read_text())["step"]

    def log(self, i: int) -> str:
        return (self.logs / f"process_{i}.log").read_text(errors="replace")


def worker(workdir: Path, *overrides: str) -> list[str]:
    return ["tests/multihost_worker.py", "--config", "configs/test.py", "--workdir", str(workdir), *overrides]


def tails(logs: Path) -> str:
    return "\n".join(f"--- {p.name}:\n{launch.log_tail(p)}" for p in sorted(logs.glob("*.log")))


def wait_all(procs: list[subprocess.Popen], logs: Path, timeout: float = RUN_TIMEOUT) -> list[int]:
    deadline = time.monotonic() + timeout
    for i, p in enumerate(procs):
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"process {i} still running after {timeout} s\n{tails(logs)}")
    return [p.returncode for p in procs]


def wait_for(condition, what: str, procs: list[subprocess.Popen], logs: Path, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if any(p.poll() is not None for p in procs):
            pytest.fail(f"a process exited while waiting for {what}: {[p.poll() for p in procs]}\n{tails(logs)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{tails(logs)}")
        time.sleep(0.1)


def new_run(root: Path, name: str) -> Run:
    return Run(root / name / "workdir", root / name / "record", root / name / "logs", [])


def env_for(run: Run, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ALPHAGAN_DISTRIBUTED"}
    return {**env, "MULTIHOST_RECORD": str(run.record), **extra}


def copy_at_step(src: Path, dst: Path, step: int) -> Path:
    """A copy of workdir `src` whose latest checkpoint is `step`: a run preempted right after that save."""
    shutil.copytree(src, dst)
    for d in (dst / "checkpoints").iterdir():
        if int(d.name) > step:
            shutil.rmtree(d)
    return dst


def steps_saved(workdir: Path) -> list[str]:
    return sorted(p.name for p in (workdir / "checkpoints").iterdir())


# ----------------------------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("multihost")


@pytest.fixture(scope="module")
def two_hosts(root):
    """4 steps in 2 processes x 2 devices, started by the launcher CLI, with validation and image grids at
    steps 2 and 4 and a checkpoint at every step (all kept)."""
    run = new_run(root, "two_hosts")
    cmd = [
        script("alphagan-launch"),
        "--num-processes",
        "2",
        "--devices-per-process",
        "2",
        "--log-dir",
        str(run.logs),
        "--timeout",
        str(RUN_TIMEOUT),
        "--",
        *worker(run.workdir, EVERY_STEP, "--config.train.keep=4"),
    ]
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=env_for(run), capture_output=True, text=True, timeout=RUN_TIMEOUT + 60)
    run.console = out.stdout + out.stderr
    (run.logs / "process_0.log").write_text(run.console)  # kept beside process 1's for a failure's tails()
    assert out.returncode == 0, f"launcher exited {out.returncode}\n{tails(run.logs)}"
    run.codes = [0, 0]
    return run


@pytest.fixture(scope="module")
def one_host(root):
    """The same 4 steps in 1 process with 4 devices: the same mesh, no process boundary; a checkpoint at every
    step (all kept), as two_hosts."""
    run = new_run(root, "one_host")
    env = env_for(run, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    out = subprocess.run(
        [sys.executable, *worker(run.workdir, *QUIET, EVERY_STEP, "--config.train.keep=4")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def sigterm_run(root, two_hosts):
    """two_hosts as if preempted after step 2, rerun on both hosts; process 1 alone gets SIGTERM while the run
    starts (it is reading step 3's batch, before the compile), as when one host of a pod is preempted: both
    must take step 3, save it and exit."""
    run = new_run(root, "sigterm")
    copy_at_step(two_hosts.workdir, run.workdir, 2)
    env = env_for(run, MULTIHOST_PAUSE_AT_STEP="3")
    with launch.processes(
        worker(run.workdir, *QUIET), 2, 2, run.logs, stream_first=False, env=env, cwd=REPO_ROOT
    ) as procs:
        wait_for(lambda: (run.record / "paused_1").exists(), "process 1 to reach step 3", procs, run.logs)
        procs[1].send_signal(signal.SIGTERM)
        (run.record / "resume").touch()
        run.codes = wait_all(procs, run.logs)
    return run


@pytest.fixture(scope="module")
def killed_run(root, one_host):
    """one_host's checkpoint 2 resumed in 2 processes (1 -> 2), saving every step; process 1 is killed with
    SIGKILL before step 4, once checkpoint 3 is complete. Returns the run and how long process 0 took to exit
    after the kill."""
    run = new_run(root, "killed")
    copy_at_step(one_host.workdir, run.workdir, 2)
    env = env_for(run, MULTIHOST_PAUSE_AT_STEP="4")
    with launch.processes(
        worker(run.workdir, *QUIET, EVERY_STEP), 2, 2, run.logs, stream_first=False, env=env, cwd=REPO_ROOT
    ) as procs:
        wait_for(
            lambda: (run.record / "paused_1").exists() and (run.workdir / "checkpoints" / "3").is_dir(),
            "process 1 at step 4 and checkpoint 3 complete",
            procs,
            run.logs,
        )
        procs[1].kill()
        run.codes = wait_all(procs, run.logs, timeout=150)  # a hang guard: the claims are the codes and logs
    return run


# ---------------------------------------------------------------------------------------- comparisons


def structured(leaves: list[np.ndarray]):
    """Flat leaves -> a GanState, by the tree structure of the config's state (traced, not computed)."""
    shapes = jax.eval_shape(lambda: create_state(test_config.get_config(), jax.random.PRNGKey(0)))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), leaves)


def param_diffs(a_leaves: list[np.ndarray], b_leaves: list[np.ndarray]) -> np.ndarray:
    a, b = structured(a_leaves), structured(b_leaves)
    pairs = zip(
        jax.tree_util.tree_leaves((a.g.params, a.d.params)),
        jax.tree_util.tree_leaves((b.g.params, b.d.params)),
        strict=True,
    )
    return np.concatenate([np.abs(np.asarray(x) - np.asarray(y)).ravel() for x, y in pairs])


def assert_same_training(a: list[np.ndarray], b: list[np.ndarray], steps: int, what: str) -> None:
    """Equal up to the round-off of another reduction order: the tolerance of test_train's 4-vs-1 device test
    (Adam moves a parameter by ~lr per step, so a ~0 gradient may flip; wrong parallelism moves nearly all).

    It holds after the first step here. Later the flips feed back through the GAN: after 4 steps of this
    config ~20% of the parameters differ by more than lr / 10 between ANY two device layouts (also 1 vs 4
    devices in one process, measured), so later steps are compared by their losses (loss_gaps).
    """
    d = param_diffs(a, b)
    stats = {"max": float(d.max()), "mean": float(d.mean()), "frac_off": float(np.mean(d > LR / 10))}
    # Adam moves a parameter by at most ~lr per step, so two runs differ by at most 2 lr per step: a flipped
    # sign of a ~0 gradient is exactly that (seen at step 1: 2.0 lr). The fraction and mean tell wrong from
    # round-off.
    assert stats["max"] <= 2 * steps * LR * 1.01, (what, stats)
    assert stats["frac_off"] < 0.005, (what, stats)
    assert stats["mean"] < LR / 100, (what, stats)


def assert_identical(a: list[np.ndarray], b: list[np.ndarray], what: str) -> None:
    assert len(a) == len(b), what
    bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not np.array_equal(x, y)]
    assert not bad, f"{what}: {len(bad)} of {len(a)} arrays differ (first: leaf {bad[0]})"


def jsonl(workdir: Path) -> list[dict]:
    return [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]


LOSSES = ("g_loss", "alpha_loss", "comp_loss", "gan_loss", "d_loss", "d_real", "d_fake")


def loss_gaps(a: Path, b: Path) -> dict[int, float]:
    """Step -> the largest difference of any logged loss between run `a` and run `b` (which logged at least
    a's steps), from their metrics.jsonl."""
    rows_a = {r["step"]: r for r in jsonl(a) if "g_loss" in r}
    rows_b = {r["step"]: r for r in jsonl(b) if "g_loss" in r}
    assert rows_a.keys() <= rows_b.keys(), (sorted(rows_a), sorted(rows_b))
    return {k: max(abs(rows_a[k][n] - rows_b[k][n]) for n in LOSSES) for k in sorted(rows_a)}


# A loss computed from the same parameters on another device layout differs by reduction round-off (~1e-7;
# test_train's 4-vs-1 test allows 1e-5); after a few steps of another layout, Adam's sign flips reach the
# losses too (~1e-4 at step 4 here). Wrong data or a missing all-reduce gives 1e-2 and more.
SAME_PARAMS, SAME_TRAINING = 1e-5, 1e-3


def restored(workdir: Path, step: int) -> list[np.ndarray]:
    """The full training state of checkpoint `step`, restored in this (1-device) process."""
    ckpts = RunCheckpoints(workdir)
    try:
        state = ckpts.restore(create_state(test_config.get_config(), jax.random.PRNGKey(7)), step)
    finally:
        ckpts.close()
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(jax.device_get(state))]


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_launcher_stops_every_process_when_one_fails(tmp_path):
    """No JAX: process 1 fails; the launcher must stop process 0 at once and exit with process 1's status."""
    code = (
        "import os, sys, time\n"
        "i = os.environ['ALPHAGAN_PROCESS_ID']\n"
        "print('process', i, os.environ['JAX_COORDINATOR_ADDRESS'], os.environ['ALPHAGAN_NUM_PROCESSES'],"
        " flush=True)\n"
        f"open(r'{tmp_path}/pid_' + i, 'w').write(str(os.getpid()))\n"
        "if i == '1':\n    time.sleep(1); sys.exit(3)\n"
        "time.sleep(300)\n"
    )
    out = subprocess.run(  # process 0 sleeps 300 s: it only ends within the 120-s guard if it is stopped
        [
            script("alphagan-launch"),
            "--num-processes",
            "2",
            "--log-dir",
            str(tmp_path / "logs"),
            "--",
            "-c",
            code,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 3, out.stderr
    assert "process 1 exited with status 3" in out.stderr
    pid0 = int((tmp_path / "pid_0").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid0, 0)  # process 0 is gone (reaped by the launcher), not left sleeping
    # Process 0 streams to the console, the others to their log; one coordinator for both.
    (line0,) = [x for x in out.stdout.splitlines() if x.startswith("process 0")]
    line1 = (tmp_path / "logs" / "process_1.log").read_text().splitlines()[0]
    assert line0.split()[2:] == line1.split()[2:] and line0.split()[3] == "2"
    assert line0.split()[2].startswith("127.0.0.1:")


@pytest.mark.slow
def test_both_processes_end_with_the_same_state(two_hosts):
    assert two_hosts.final_step(0) == two_hosts.final_step(1) == STEPS
    assert_identical(two_hosts.host(0), two_hosts.host(1), "process 0 vs process 1")


@pytest.mark.slow
def test_two_processes_train_like_one_process_with_four_devices(two_hosts, one_host):
    # After step 1 the two runs differ by the round-off of one gradient's reduction order only. From step 2 on
    # they can differ far more (measured 2026-12-01 at step 2: 4 % of G's deep conv kernels beyond lr / 10, up
    # to 3.7 lr, also on older commits; probably step 1's round-off flipping near-ties of ReLUs and of the
    # max-pool indices the decoder unpools with, which Adam turns into full lr steps), so step 2 on is
    # compared by the losses.
    assert_same_training(
        restored(two_hosts.workdir, 1), restored(one_host.workdir, 1), 1, "2 processes x 2 devices vs 1 x 4, step 1"
    )
    gaps = loss_gaps(two_hosts.workdir, one_host.workdir)
    assert gaps[1] < SAME_PARAMS and max(gaps.values()) < SAME_TRAINING, gaps
    # The final checkpoint holds what both hosts ended with.
    assert_identical(restored(two_hosts.workdir, STEPS), two_hosts.host(0), "checkpoint 4 vs process 0")


@pytest.mark.slow
def test_two_processes_pass_an_unreadable_checkpoint_and_hold_their_workdir(two_hosts, root):
    """Issue 21 on a pod: resumed in 2 processes x 2 devices from a copy whose latest checkpoint is truncated
    (an interrupted copy from a bucket), both hosts fall back to the same earlier step and the broken one is
    moved aside byte for byte; a second launch on the workdir they hold exits 2 on every process, naming the
    holder, before it writes anything."""
    run = new_run(root, "fallback")
    copy_at_step(two_hosts.workdir, run.workdir, 3)
    step3 = run.workdir / "checkpoints" / "3"
    truncate(step3)
    broken = {str(p.relative_to(step3)): p.read_bytes() for p in step3.rglob("*") if p.is_file()}
    # Process 1 waits before the start barrier (it draws the first batch, of step 4, before the restore):
    # the first run holds the lease meanwhile, and process 0 waits in a barrier that has no 30 s limit.
    env = env_for(run, MULTIHOST_PAUSE_AT_STEP="4")
    with launch.processes(
        worker(run.workdir, *QUIET, EVERY_STEP, "--config.train.keep=4"),
        2,
        2,
        run.logs,
        stream_first=False,
        env=env,
        cwd=REPO_ROOT,
    ) as procs:
        wait_for(lambda: (run.record / "paused_1").exists(), "process 1 waiting before the restore", procs, run.logs)
        listing = lambda: sorted(
            str(p.relative_to(run.workdir)) for p in run.workdir.rglob("*") if "lease" not in p.name
        )
        before = listing()  # less the lease's own files: its heartbeat rewrites them every 30 s
        second = new_run(root, "second_launch")
        cmd = [
            script("alphagan-launch"),
            "--num-processes",
            "2",
            "--devices-per-process",
            "2",
        ]
        cmd += ["--log-dir", str(second.logs), "--timeout", str(RUN_TIMEOUT), "--", *worker(run.workdir, *QUIET)]
        out = subprocess.run(cmd, cwd=REPO_ROOT, env=env_for(second), capture_output=True, text=True, timeout=300)
        after = listing()
        (run.record / "resume").write_text("")
        run.codes = wait_all(procs, run.logs)
    assert out.returncode == 2, out.stdout + out.stderr + tails(second.logs)
    said = out.stdout + out.stderr + tails(second.logs)
    assert "Traceback" not in said, said
    assert re.search(r"pid \d+ on host .*last heartbeat", said), said
    assert after == before, "the second launch wrote into the held workdir"
    assert not list(second.record.glob("process_*")), "the second launch trained"

    assert run.codes == [0, 0], tails(run.logs)
    log0 = run.log(0)
    assert f"{step3} cannot be restored" in log0 and "resuming from step 2" in log0, log0[-3000:]
    (aside,) = (run.workdir / "unreadable").iterdir()
    assert {str(p.relative_to(aside)): p.read_bytes() for p in aside.rglob("*") if p.is_file()} == broken
    assert steps_saved(run.workdir) == ["1", "2", "3", "4"]  # 3 and 4 trained again from step 2
    assert run.final_step(0) == run.final_step(1) == STEPS
    assert_identical(run.host(0), run.host(1), "process 0 vs process 1 after the fallback")
    # From step 2 on, the same stream and the same layout as two_hosts: the same losses.
    gaps = loss_gaps(run.workdir, two_hosts.workdir)
    assert max(gaps.values()) < SAME_PARAMS, gaps


@pytest.mark.slow
def test_hosts_take_disjoint_parts_of_the_single_process_stream(two_hosts, one_host):
    h0, h1, single = two_hosts.hashes(0), two_hosts.hashes(1), one_host.hashes(0)
    assert len(h0) == len(h1) == len(single) == STEPS
    batch = test_config.get_config().train.batch_size
    for step, (a, b, s) in enumerate(zip(h0, h1, single, strict=True), 1):
        assert len(a) == len(b) == batch // 2, step
        assert a + b == s, f"step {step}: host 0 + host 1 samples are not the single-process batch"
    seen0, seen1 = {x for r in h0 for x in r}, {x for r in h1 for x in r}
    assert len(seen0) == len(seen1) == STEPS * batch // 2 and not seen0 & seen1


@pytest.mark.slow
def test_checkpoints_logs_and_validation_are_written_once(two_hosts, one_host):
    w = two_hosts.workdir
    assert steps_saved(w) == ["1", "2", "3", "4"], "one checkpoint per save step, none left half-written"
    (best,) = (w / "best").iterdir()
    assert best.name in ("2", "4")

    # Replicated arrays are stored once over all hosts, not once per host: about the single-process size.
    def stored_bytes(workdir: Path) -> int:
        return sum(f.stat().st_size for f in (workdir / "checkpoints" / "4").rglob("*") if f.is_file())

    assert stored_bytes(w) < 1.5 * stored_bytes(one_host.workdir), (stored_bytes(w), stored_bytes(one_host.workdir))

    rows = jsonl(w)
    assert [r["step"] for r in rows if "g_loss" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in rows if "val/sad" in r] == [2, 4]
    assert sorted(p.name for p in (w / "images").iterdir()) == ["predictions_0000002.png", "predictions_0000004.png"]
    (events,) = (w / "tensorboard").iterdir()  # one writer
    import tensorflow as tf

    steps = [
        e.step for e in tf.compat.v1.train.summary_iterator(str(events)) for v in e.summary.value if v.tag == "g_loss"
    ]
    assert steps == [1, 2, 3, 4]
    # Only process 0 talks: validation lines on its console once per validation, nothing from process 1.
    # One line per validation (steps 2 and 4), printed once; the run's closing line also names the best SAD.
    assert len(re.findall(r"step \d+: validation SAD", two_hosts.console)) == 2
    assert "validation SAD" not in two_hosts.log(1) and "train:" not in two_hosts.log(1)


@pytest.mark.slow
def test_one_process_restores_a_two_process_checkpoint_for_evaluation_and_prediction(two_hosts, tmp_path):
    """The bug the issue found: Orbax refused ('Topology mismatch detected') to restore on other devices."""
    _, variables, step = restore_generator(two_hosts.workdir)
    assert step == STEPS
    final = structured(two_hosts.host(0))
    assert_identical(
        jax.tree_util.tree_leaves(jax.device_get(variables)),
        jax.tree_util.tree_leaves(final.g.variables()),
        "restored G vs process 0's G",
    )

    rng = np.random.default_rng(0)
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    write_image(tmp_path / "trimap.png", np.repeat(np.array([0, 128, 255], np.uint8), [20, 24, 20])[None].repeat(64, 0))
    code = (
        "import sys\nfrom alphagan_jax.cli import evaluate, predict\n"
        f"e = evaluate.main(['--workdir', r'{two_hosts.workdir}', '--data', 'synthetic', '--num', '2',"
        f" '--out', r'{tmp_path / 'eval'}'])\n"
        f"p = predict.main(['--workdir', r'{two_hosts.workdir}', '--image', r'{tmp_path / 'photo.png'}',"
        f" '--trimap', r'{tmp_path / 'trimap.png'}', '--out', r'{tmp_path / 'pred'}'])\n"
        "sys.exit(10 * e + p)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "XLA_FLAGS": ""},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["step"] == STEPS
    assert (tmp_path / "pred" / "alpha.png").is_file()


@pytest.mark.slow
def test_sigterm_to_one_process_stops_both_at_the_same_saved_step(sigterm_run, two_hosts):
    run = sigterm_run
    assert run.codes == [0, 0], tails(run.logs)
    assert run.final_step(0) == run.final_step(1) == 3
    assert_identical(run.host(0), run.host(1), "process 0 vs process 1 after SIGTERM")
    assert "stopping on a signal on another host: saved step 3" in run.log(0)
    assert steps_saved(run.workdir) == ["2", "3"]
    # Restarted after step 2 and stopped at 3, it is bit for bit the uninterrupted run's step 3, and the
    # checkpoint it saved restores in one process to exactly what both hosts held.
    assert "resumed from" in run.log(0) and "at step 2" in run.log(0)
    assert_identical(run.host(0), restored(two_hosts.workdir, 3), "restarted run vs uninterrupted run, step 3")
    assert_identical(restored(run.workdir, 3), run.host(0), "its checkpoint 3 restored in 1 process")
    assert loss_gaps(run.workdir, two_hosts.workdir) == {1: 0, 2: 0, 3: 0}


@pytest.mark.slow
def test_topology_changes_resume_the_same_training(killed_run, sigterm_run, one_host, two_hosts, tmp_path):
    """1 -> 2 processes and 2 -> 1: the first step after each change starts from exactly the checkpoint's
    parameters, so its losses differ from the same step in the original layout by reduction round-off only."""
    # 1 -> 2: killed_run resumed one_host's checkpoint 2 in 2 processes and logged step 3 before the kill.
    gaps = loss_gaps(killed_run.workdir, one_host.workdir)
    assert gaps[1] == gaps[2] == 0 and gaps[3] < SAME_PARAMS, gaps
    # 2 -> 1: the 2-process checkpoint 3 (bit for bit two_hosts' step 3) resumed here on one device.
    workdir = tmp_path / "back_to_one"
    shutil.copytree(sigterm_run.workdir, workdir)
    config = test_config.get_config()
    config.train.val_every, config.train.image_every = 0, 0
    state = train_and_evaluate(config, workdir)
    assert int(state.step) == STEPS
    gaps = loss_gaps(workdir, two_hosts.workdir)
    assert gaps[1] == gaps[2] == gaps[3] == 0 and gaps[4] < SAME_PARAMS, gaps


@pytest.mark.slow
def test_kill_9_of_one_process_stops_the_other_with_a_clear_error(killed_run):
    run = killed_run
    assert run.codes[1] == -signal.SIGKILL
    # Exit status 1 with the one-line cause: not JAX's fatal abort (SIGABRT) after its heartbeat time-out.
    assert run.codes[0] == 1, tails(run.logs)
    assert "Most likely another process died or was killed" in run.log(0)
    assert steps_saved(run.workdir) == ["2", "3"]  # the last completed ones; step 4 never ran
    _, _, step = restore_generator(run.workdir)
    assert step == 3


@pytest.mark.slow
def test_two_processes_with_composites_made_on_the_devices(root):
    """data.pipeline='jax' in a pod: each process makes its own part of every batch on its first device,
    and the parts are the single-host stream's, and both hosts end with the same state."""
    from alphagan_jax.data.device_pipeline import make_device_train_iterator

    run = new_run(root, "device_pipeline")
    steps = 2
    cmd = worker(run.workdir, *QUIET, "--config.data.pipeline=jax", f"--config.train.num_steps={steps}")
    with launch.processes(cmd, 2, 2, run.logs, stream_first=False, env=env_for(run), cwd=REPO_ROOT) as procs:
        assert wait_all(procs, run.logs) == [0, 0], tails(run.logs)
    assert_identical(run.host(0), run.host(1), "process 0 vs process 1")
    config = test_config.get_config()
    stream = make_device_train_iterator(
        config.data, global_batch_size=config.train.batch_size, seed=config.seed, process_index=0, process_count=1
    )
    for step, (a, b) in enumerate(zip(run.hashes(0), run.hashes(1), strict=True)):
        assert a + b == sample_hashes(next(stream)), f"step {step + 1}: the hosts' parts are not the single-host batch"
    assert len(run.hashes(0)) == steps
