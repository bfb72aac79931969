"""train.py as one process of a test's multi-process run, recording what tests/distributed/test_multihost.py checks.

Takes train.py's flags and runs train.py itself; in the folder $MULTIHOST_RECORD it writes, per process i:
  process_<i>.json  the SHA-1 of each sample of each batch this host trained on, and the final step
  process_<i>.npz   the final training state as this host holds it (its own copy of the replicated arrays)
With MULTIHOST_PAUSE_AT_STEP=k, process 1 stops before drawing step k's batch, writes paused_1 and waits
for a file `resume` in that folder, so that a test can signal or kill it at a known step.
"""

import json
import os
import runpy
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from helpers import sample_hashes  # noqa: E402  (this script's folder, tests/, is on sys.path)

from alphagan_jax.train import trainer  # noqa: E402

RECORD = Path(os.environ["MULTIHOST_RECORD"])
PAUSE_AT = int(os.environ.get("MULTIHOST_PAUSE_AT_STEP", "0"))
hashes: list[list[str]] = []


def recording_iterator(config, start_step):
    step = start_step
    for batch in original_iterator(config, start_step):
        step += 1
        if step == PAUSE_AT and jax.process_index() == 1:
            (RECORD / "paused_1").write_text(str(step))
            deadline = time.monotonic() + 600  # never outlive a test that died without cleaning up
            while not (RECORD / "resume").exists():  # short sleeps: a signal handler runs in between
                if time.monotonic() > deadline:
                    sys.exit("multihost_worker: nobody resumed process 1 in 600 s")
                time.sleep(0.05)
        hashes.append(sample_hashes(batch))
        yield batch


def recording_train(config, workdir, **kwargs):  # kwargs: train.py passes the workdir's lease
    state = original_train(config, workdir, **kwargs)
    i = jax.process_index()
    host = [np.asarray(x.addressable_data(0)) for x in jax.tree_util.tree_leaves(state)]
    np.savez(RECORD / f"process_{i}.npz", *host)
    (RECORD / f"process_{i}.json").write_text(json.dumps({"step": int(host[0]), "hashes": hashes}))
    return state


original_iterator, trainer._train_iterator = trainer._train_iterator, recording_iterator
original_train, trainer.train_and_evaluate = trainer.train_and_evaluate, recording_train
RECORD.mkdir(parents=True, exist_ok=True)
sys.argv = [str(REPO_ROOT / "train.py"), *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
