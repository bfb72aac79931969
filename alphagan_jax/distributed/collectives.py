"""The multi-host collectives every layer of a run uses: start JAX's distributed runtime, wait for every
process at a named point, share process 0's decision, agree on a boolean.

All go through JAX's coordination service (key-value store and barriers), not device collectives: CPU
collectives (gloo) give up after 30 s, and one host can compile for longer than that while the others wait.
Each is a no-op in one process. Imports no JAX at module level.
"""

from __future__ import annotations

import os

# Set by the local launcher (alphagan_jax.distributed.local_launch) for each process; read by
# initialize_distributed().
NUM_PROCESSES, PROCESS_ID = "ALPHAGAN_NUM_PROCESSES", "ALPHAGAN_PROCESS_ID"


def initialize_distributed() -> None:
    """`jax.distributed.initialize()` for this process.

    Started by this launcher: coordinator, process count and id come from its variables. Anywhere else
    (TPU pod workers, SLURM, Open MPI, Kubernetes) JAX detects the cluster itself.
    """
    import jax

    # Cross-process collectives of CPU devices (the local trial run); no effect on GPU/TPU computations.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kwargs: dict = {}
    if NUM_PROCESSES in os.environ:
        kwargs = {
            "coordinator_address": os.environ["JAX_COORDINATOR_ADDRESS"],
            "num_processes": int(os.environ[NUM_PROCESSES]),
            "process_id": int(os.environ[PROCESS_ID]),
        }
    jax.distributed.initialize(**kwargs)


def barrier(name: str, timeout_s: int = 3600) -> None:
    """Block until every process of the run has reached `name` (once per name; no-op in one process).

    Through JAX's coordination service, not a device collective: CPU collectives (gloo) give up after 30 s,
    and on a CPU one host can compile for longer than that while the others wait. (The persistent
    compilation cache only ever serves process 0 there: its keys differ between processes.)
    """
    import jax

    if jax.process_count() == 1:
        return
    _client().wait_at_barrier(name, timeout_in_ms=timeout_s * 1000)


def _client():
    from jax._src import distributed  # the coordination client has no public wrapper

    return distributed.global_state.client


def from_process_0(name: str, value: str, timeout_s: int = 600) -> str:
    """Process 0's `value` on every process, through JAX's coordination service (once per name; no-op in
    one process). Lets every host take a decision only process 0 can make, without a device collective."""
    import jax

    if jax.process_count() == 1:
        return value
    client = _client()
    if jax.process_index() == 0:
        client.key_value_set(name, "=" + value)  # never empty: an empty value reads as missing
    return client.blocking_key_value_get(name, timeout_s * 1000)[1:]


def all_processes_agree(name: str, ok: bool, timeout_s: int = 600) -> bool:
    """True if `ok` is True on every process of the run (once per name; `ok` itself in one process)."""
    import jax

    if jax.process_count() == 1:
        return ok
    client = _client()
    client.key_value_set(f"{name}/{jax.process_index()}", "1" if ok else "0")
    return all(
        client.blocking_key_value_get(f"{name}/{i}", timeout_s * 1000) == "1" for i in range(jax.process_count())
    )
