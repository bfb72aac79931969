"""The evaluation loop shared by ``evaluate.py`` and training validation.

* :func:`evaluate_arrays`: in-memory samples -> mean SAD/MSE/Grad/Conn (training validation).
* :func:`evaluate_model`: test items -> predicted PNGs, ``metrics.csv``, ``summary.json`` (model mode).
* :func:`score_dirs`: existing prediction PNGs -> the same outputs, no model (score mode).

Every image goes through the same steps: predict, round to 8 bits (the benchmark scores PNG files, so we
score exactly what we write), compute the errors of :mod:`alphagan_jax.evaluation.metrics`. A bad image (corrupt
file, size mismatch, missing prediction) becomes an ``error`` row naming its files and never stops the
others; an image whose trimap has no unknown pixel becomes a ``no_unknown`` row, left out of the means.
Rows are written to the CSV as soon as they are known, so an interrupted run keeps what it finished.

Test items come from :mod:`alphagan_jax.data.eval_sources`, rows and files from
:mod:`alphagan_jax.evaluation.results`; metrics run in worker processes through
:func:`alphagan_jax.util.process_map.ordered_bounded_map`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from alphagan_jax.data import io
from alphagan_jax.data.eval_sources import EvalItem, check_sizes, files_by_stem
from alphagan_jax.data.io import to_uint8
from alphagan_jax.evaluation import metrics
from alphagan_jax.evaluation.results import NO_GT, ResultWriter, error_row, metric_row, summarize
from alphagan_jax.util.process_map import IN_FLIGHT_PER_WORKER, default_workers, one_opencv_thread, ordered_bounded_map
from alphagan_jax.util.worker_logs import captured_warnings

_log = logging.getLogger(__name__)

# (image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW in [0, 1]; a Predictor is one.
AlphaFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

# A worker's task: a finished row (an image that failed before scoring, passed through so the CSV keeps
# the input order) or what scoring needs.
PredictionJob: TypeAlias = dict[str, Any] | tuple[str, np.ndarray, np.ndarray, np.ndarray]
ScoreJob: TypeAlias = dict[str, Any] | tuple[str, str, str, str, int | None]


# --------------------------------------------------------------------------------------------------------
# Training validation: in-memory samples.


def evaluate_arrays(
    predict: AlphaFn,
    samples: Iterable[dict[str, Any]],
    *,
    names: Sequence[str] = metrics.METRIC_NAMES,
    workers: int | None = 0,
) -> dict[str, Any]:
    """Predict and score in-memory samples: the code path of ``evaluate.py``, without files.

    Args:
      predict: ``(image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW in [0, 1]``, e.g. a
        :class:`alphagan_jax.inference.predictor.Predictor`.
      samples: dicts with 'name', 'image' (uint8 HxWx3), 'trimap' (uint8 HxW, {0, 128, 255}) and 'alpha'
        (uint8 HxW, 0..255), as ``alphagan_jax.data.eval_samples`` yields.
      names: errors to compute; ('sad', 'mse') is much cheaper for frequent validation.
      workers: metric processes (0/1 = in this process, None = every core).

    Returns:
      {'sad', 'mse', 'grad', 'conn' (means over scored images; None for metrics not computed),
       'num_images', 'num_scored', 'num_no_unknown', 'num_no_gt', 'num_errors', 'errors', 'per_image': rows}.
    """
    rows: list[dict[str, Any]] = []
    triples, metas = [], []
    for s in samples:
        if s.get("alpha") is None:
            rows.append(error_row(s["name"], "no ground-truth alpha", NO_GT))
            continue
        pred = to_uint8(np.asarray(predict(s["image"], s["trimap"])))
        triples.append((pred, np.asarray(s["alpha"]), np.asarray(s["trimap"])))
        metas.append((s["name"], *pred.shape))
    results = metrics.evaluate_many(triples, workers=workers, names=names)
    rows += [metric_row(name, r, h, w) for (name, h, w), r in zip(metas, results, strict=True)]
    summary = summarize(rows)
    summary["per_image"] = rows
    return summary


# --------------------------------------------------------------------------------------------------------
# Model mode.


def evaluate_model(
    predict: AlphaFn,
    items: Iterable[EvalItem],
    out_dir: str | Path,
    *,
    unknown_value: int | None = None,
    workers: int | None = None,
    pool: Executor | None = None,
    extra_summary: Callable[[], dict[str, Any]] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Predict every item at full resolution, write ``alpha/<name>.png``, ``metrics.csv``, ``summary.json``.

    Metrics run in a process pool while the next image is predicted, so they add little wall time.

    Args:
      predict: ``(image, trimap) -> alpha`` (e.g. a Predictor).
      items: from :func:`alphagan_jax.data.eval_sources.list_eval_items` or ``synthetic_items``.
      out_dir: output folder (created).
      unknown_value: the trimaps' unknown value when not 128 (None: auto-detect with a warning).
      workers: metric processes (None = every core; 0/1 = inline).
      pool: an existing executor to use instead of starting one.
      extra_summary: called at the end; its dict is merged into the summary (e.g. compile counts).
      overwrite: replace the results of an earlier run in `out_dir` (otherwise FileExistsError).

    Returns:
      The summary dict (also written to ``summary.json``).
    """
    out = Path(out_dir)
    writer = ResultWriter(out, overwrite=overwrite)

    def jobs() -> Iterator[PredictionJob]:
        # Runs here, in the parent, as the map asks for the next task: prediction stays on the accelerator.
        for item in items:
            try:
                sample = item.load(unknown_value)  # file items check sizes; synthetic ones match by construction
                pred = to_uint8(np.asarray(predict(sample["image"], sample["trimap"])))
                io.write_png(out / "alpha" / f"{item.name}.png", pred)
            except Exception as e:  # noqa: BLE001 - one bad image must never lose the others
                yield error_row(item.name, f"{type(e).__name__}: {e}")
                continue
            if sample.get("alpha") is None:
                yield error_row(item.name, "no ground-truth alpha; prediction written", NO_GT)
                continue
            yield (item.name, pred, sample["alpha"], sample["trimap"])

    # Backpressure: with a fast accelerator and few cores, unscored images would pile up in memory.
    max_in_flight = IN_FLIGHT_PER_WORKER * (workers or default_workers())
    start = time.perf_counter()
    rows = ordered_bounded_map(
        _score_prediction,
        jobs(),
        workers=workers,
        max_in_flight=max_in_flight,
        initializer=one_opencv_thread,
        executor=pool,
    )
    with contextlib.closing(rows):  # stops the pool at once if writing fails
        for row in rows:
            writer.add(row)
    extra = {"mode": "model", "seconds": round(time.perf_counter() - start, 3)}
    if extra_summary is not None:
        extra.update(extra_summary())
    return writer.close(**extra)


def _score_prediction(job: PredictionJob) -> dict[str, Any]:
    """Score one prediction (in a worker process); a failure becomes this image's error row."""
    if isinstance(job, dict):
        return job
    name, pred, alpha, trimap = job
    try:
        return metric_row(name, metrics.compute_metrics(pred, alpha, trimap), *pred.shape)
    except Exception as e:  # noqa: BLE001 - reported as this image's row
        return error_row(name, f"metrics failed: {type(e).__name__}: {e}")


# --------------------------------------------------------------------------------------------------------
# Score mode.


def _score_files(job: ScoreJob) -> dict[str, Any]:
    """Load and score one image (in a worker process); errors come back as rows, not exceptions, and the
    reader's warnings as the row's 'warnings' for the parent to log."""
    if isinstance(job, dict):
        return job
    name, pred_path, alpha_path, trimap_path, unknown_value = job
    with captured_warnings(io.__name__) as captured:
        try:
            pred = io.read_alpha_u8(pred_path)
            alpha = io.read_alpha_u8(alpha_path)
            trimap = io.read_trimap(trimap_path, unknown_value=unknown_value)
            check_sizes(
                name,
                {Path(pred_path): pred.shape, Path(alpha_path): alpha.shape, Path(trimap_path): trimap.shape},
                ValueError,
            )
            row = metric_row(name, metrics.compute_metrics(pred, alpha, trimap), *pred.shape)
        except Exception as e:  # noqa: BLE001 - reported as this image's row
            row = error_row(name, f"{type(e).__name__}: {e}")
    row["warnings"] = captured
    return row


def score_dirs(
    pred_dir: str | Path,
    alpha_dir: str | Path,
    trimap_dir: str | Path,
    out_dir: str | Path,
    *,
    unknown_value: int | None = None,
    workers: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Score existing prediction PNGs against ground truth: one row per ground-truth alpha.

    Files pair by stem (``GT01.png`` in each folder). A ground truth with no prediction or no trimap gets
    an error row naming the missing file; predictions with no ground truth are reported in a warning.
    """
    alphas = files_by_stem(Path(alpha_dir))
    trimaps = files_by_stem(Path(trimap_dir))
    preds = files_by_stem(Path(pred_dir))
    writer = ResultWriter(out_dir, overwrite=overwrite)
    start = time.perf_counter()
    jobs: list[ScoreJob] = []
    for stem, alpha_path in sorted(alphas.items()):
        if stem not in preds:
            jobs.append(error_row(stem, f"no prediction for {alpha_path} in {pred_dir}"))
        elif stem not in trimaps:
            jobs.append(error_row(stem, f"no trimap for {alpha_path} in {trimap_dir}"))
        else:
            jobs.append((stem, str(preds[stem]), str(alpha_path), str(trimaps[stem]), unknown_value))
    extra = sorted(set(preds) - set(alphas))
    if extra:
        _log.warning(
            "%d predictions in %s have no ground truth (ignored): %s", len(extra), pred_dir, ", ".join(extra[:10])
        )
    rows = ordered_bounded_map(_score_files, jobs, workers=workers, initializer=one_opencv_thread)
    with contextlib.closing(rows):
        for row in rows:
            for message in row.pop("warnings", []):
                _log.warning("%s", message)
            writer.add(row)
    return writer.close(mode="score", seconds=round(time.perf_counter() - start, 3))
