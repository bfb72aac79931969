"""The evaluation loop shared by ``evaluate.py`` and training validation.

* :func:`evaluate_arrays`: in-memory samples -> mean SAD/MSE/Grad/Conn (training validation).
* :func:`evaluate_model`: test-set files -> predicted PNGs, ``metrics.csv``, ``summary.json`` (model mode).
* :func:`score_dirs`: existing prediction PNGs -> the same outputs, no model (score mode).

Every image goes through the same steps: predict, round to 8 bits (the benchmark scores PNG files, so we
score exactly what we write), compute the errors of :mod:`alphagan_jax.metrics`. A bad image (corrupt
file, size mismatch, missing prediction) becomes an ``error`` row naming its files and never stops the
others; an image whose trimap has no unknown pixel becomes a ``no_unknown`` row, left out of the means.
Rows are written to the CSV as soon as they are known, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphagan_jax import metrics
from alphagan_jax.data import io
from alphagan_jax.data.eval_sources import (
    LAYOUTS,
    EvalFiles,
    check_sizes,
    eval_folders,
    files_by_stem,
    load_files,
    pair_files,
)
from alphagan_jax.data.io import to_uint8

_log = logging.getLogger(__name__)

# (image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW in [0, 1]; a Predictor is one.
AlphaFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

CSV_FIELDS = ("name", "status", *metrics.METRIC_NAMES, "num_unknown", "height", "width", "message")
OK, NO_UNKNOWN, NO_GT, ERROR = "ok", "no_unknown", "no_gt", "error"


# --------------------------------------------------------------------------------------------------------
# Rows and summaries.


def metric_row(name: str, result: dict[str, float], height: int, width: int) -> dict[str, Any]:
    """A CSV row from :func:`metrics.compute_metrics` output; no unknown pixel gives status 'no_unknown'."""
    row: dict[str, Any] = {"name": name, "status": OK, "height": height, "width": width, "message": ""}
    row.update(result)
    if result.get("num_unknown", 0) == 0:
        row["status"] = NO_UNKNOWN
        row["message"] = "trimap has no unknown (128) pixel; left out of the means"
    return row


def error_row(name: str, message: str, status: str = ERROR) -> dict[str, Any]:
    return {"name": name, "status": status, "message": message}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over the 'ok' rows (each metric over rows where it is finite) and counts of each status."""
    ok = [r for r in rows if r["status"] == OK]
    summary: dict[str, Any] = {}
    for n in metrics.METRIC_NAMES:
        vals = [float(r[n]) for r in ok if n in r and r[n] is not None and math.isfinite(float(r[n]))]
        summary[n] = float(np.mean(vals)) if vals else None
    summary.update(
        num_images=len(rows),
        num_scored=len(ok),
        num_no_unknown=sum(r["status"] == NO_UNKNOWN for r in rows),
        num_no_gt=sum(r["status"] == NO_GT for r in rows),
        num_errors=sum(r["status"] == ERROR for r in rows),
        errors=[{"name": r["name"], "message": r["message"]} for r in rows if r["status"] == ERROR],
    )
    return summary


class ResultWriter:
    """Writes ``metrics.csv`` row by row (flushed) and ``summary.json`` at the end."""

    def __init__(self, out_dir: str | Path, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        existing = [self.out_dir / f for f in ("metrics.csv", "summary.json") if (self.out_dir / f).exists()]
        if existing and not overwrite:
            # Earlier results are never replaced silently.
            raise FileExistsError(f"{existing[0]} already exists: choose another output folder or pass --overwrite")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        self._file = open(self.out_dir / "metrics.csv", "w", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS, extrasaction="ignore")
        self._csv.writeheader()
        self._file.flush()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if row["status"] in (ERROR, NO_UNKNOWN):
            _log.warning("%s: %s", row["name"], row["message"])
        self._csv.writerow({k: _fmt(row.get(k, "")) for k in CSV_FIELDS})
        self._file.flush()

    def close(self, **extra: Any) -> dict[str, Any]:
        self._file.close()
        summary = summarize(self.rows)
        summary.update(extra)
        (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


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
        :class:`alphagan_jax.inference.Predictor`.
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
# Test-set files.


@dataclass
class EvalItem(EvalFiles):
    """One test image: its files (alpha may be None), loaded lazily so a bad file fails only its item."""

    sample: dict[str, Any] | None = field(default=None, repr=False)  # in-memory sample (synthetic)

    def load(self, unknown_value: int | None = None) -> dict[str, Any]:
        """{'name', 'image', 'trimap', 'alpha' (uint8 or None)}; raises naming the bad file."""
        if self.sample is not None:
            return self.sample
        # ValueError rather than ImageReadError for sizes: the type names this image's error in metrics.csv.
        return load_files(self, unknown_value, size_error=ValueError)


def list_eval_items(source: str, path: str | Path, *, num: int | None = None) -> list[EvalItem]:
    """Pair test images with their trimaps and alphas by file stem, without reading any pixels.

    Args:
      source: 'composition1k' (merged/, trimaps/, alpha_copy/ or per-foreground alpha/), 'alphamatting'
        (image/, trimap/, alpha/) or 'folder' ([Test/]input|image|merged, trimap|trimaps, alpha|alpha_copy).
        The alpha folder is optional: without it, predictions are written and rows are 'no_gt'.
      path: the folder holding those subfolders.
      num: keep only the first `num` images (sorted by stem).

    Raises:
      ImageReadError: the folder, its image or trimap subfolder is missing, or one of them is empty.
    """
    if source not in LAYOUTS:
        raise ValueError(f"unknown file source {source!r}; choose from {sorted(LAYOUTS)} or 'synthetic'")
    folders = eval_folders(source, path)
    if folders.alpha is None:
        _log.warning(
            "no alpha folder (%s) in %s: predicting without scoring", "|".join(LAYOUTS[source][2]), folders.root
        )
    # Sorted by stem, one item per stem (the later file by name wins), unlike eval_samples' file-name
    # order: the two differ only for stems such as 'a' and 'a-b' or 'a.png' beside 'a.jpg'.
    by_stem = {f.name: f for f in pair_files(source, folders)}
    return [EvalItem(**vars(by_stem[stem])) for stem in sorted(by_stem)[:num]]


def synthetic_items(num: int = 8, size: int = 320, seed: int = 0, backgrounds: str = "") -> list[EvalItem]:
    """The built-in synthetic test set as in-memory items (no files needed; `backgrounds`: photo folder)."""
    from alphagan_jax.data import eval_samples

    return [
        EvalItem(s["name"], None, None, sample=s)
        for s in eval_samples("synthetic", backgrounds, num=num, size=size, seed=seed)
    ]


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
      items: from :func:`list_eval_items` or :func:`synthetic_items`.
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
    own_pool = metrics.maybe_pool(workers) if pool is None else None
    pool = pool or own_pool
    pending: list[tuple[str, int, int, Future | dict]] = []
    # Backpressure: with a fast accelerator and few cores, unscored images would pile up in memory.
    max_pending = 4 * (workers or metrics.default_workers())
    start = time.perf_counter()
    try:
        for item in items:
            try:
                sample = item.load(unknown_value)  # file items check sizes; synthetic ones match by construction
                pred = to_uint8(np.asarray(predict(sample["image"], sample["trimap"])))
                io.write_png(out / "alpha" / f"{item.name}.png", pred)
            except Exception as e:  # noqa: BLE001 - one bad image must never lose the others
                writer.add(error_row(item.name, f"{type(e).__name__}: {e}"))
                continue
            if sample.get("alpha") is None:
                writer.add(error_row(item.name, "no ground-truth alpha; prediction written", NO_GT))
                continue
            args = (pred, sample["alpha"], sample["trimap"])
            job = pool.submit(metrics.compute_metrics, *args) if pool is not None else _safe_metrics(*args)
            pending.append((item.name, *pred.shape, job))
            _drain(pending, writer, keep=max_pending)
        _drain(pending, writer, keep=0)
    finally:
        if own_pool is not None:
            own_pool.shutdown(cancel_futures=True)
    extra = {"mode": "model", "seconds": round(time.perf_counter() - start, 3)}
    if extra_summary is not None:
        extra.update(extra_summary())
    return writer.close(**extra)


def _safe_metrics(*args: np.ndarray) -> dict | Exception:
    try:
        return metrics.compute_metrics(*args)
    except Exception as e:  # noqa: BLE001
        return e


def _drain(pending: list, writer: ResultWriter, keep: int) -> None:
    """Write finished metric jobs in submission order (so the CSV keeps the input order), waiting for
    unfinished ones only while more than `keep` are pending."""
    while pending:
        name, h, w, job = pending[0]
        if isinstance(job, Future):
            if len(pending) <= keep and not job.done():
                return
            try:
                result = job.result()
            except Exception as e:  # noqa: BLE001
                result = e
        else:
            result = job
        pending.pop(0)
        if isinstance(result, Exception):
            writer.add(error_row(name, f"metrics failed: {type(result).__name__}: {result}"))
        else:
            writer.add(metric_row(name, result, h, w))


# --------------------------------------------------------------------------------------------------------
# Score mode.


def _score_files(
    name: str, pred_path: str, alpha_path: str, trimap_path: str, unknown_value: int | None
) -> dict[str, Any]:
    """Load and score one image (runs in a worker process); errors come back as rows, not exceptions."""
    captured: list[str] = []
    handler = _ListHandler(captured)
    io_log = logging.getLogger(io.__name__)
    io_log.addHandler(handler)
    # The parent re-logs what we capture; propagating too would print it twice when run inline.
    propagate, io_log.propagate = io_log.propagate, False
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
    finally:
        io_log.removeHandler(handler)
        io_log.propagate = propagate
    row["warnings"] = captured
    return row


class _ListHandler(logging.Handler):
    """Collects log messages in a worker so the parent can re-log them (spawned workers have no logging)."""

    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


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
    jobs: list[tuple[str, Any]] = []
    for stem, alpha_path in sorted(alphas.items()):
        if stem not in preds:
            jobs.append((stem, error_row(stem, f"no prediction for {alpha_path} in {pred_dir}")))
        elif stem not in trimaps:
            jobs.append((stem, error_row(stem, f"no trimap for {alpha_path} in {trimap_dir}")))
        else:
            jobs.append((stem, (str(preds[stem]), str(alpha_path), str(trimaps[stem]))))
    extra = sorted(set(preds) - set(alphas))
    if extra:
        _log.warning(
            "%d predictions in %s have no ground truth (ignored): %s", len(extra), pred_dir, ", ".join(extra[:10])
        )
    pool = metrics.maybe_pool(workers, len(jobs))
    try:
        futures = [
            (stem, pool.submit(_score_files, stem, *job, unknown_value) if pool and isinstance(job, tuple) else job)
            for stem, job in jobs
        ]
        for stem, job in futures:
            if isinstance(job, Future):
                row = job.result()
            elif isinstance(job, tuple):
                row = _score_files(stem, *job, unknown_value)
            else:
                row = job
            for message in row.pop("warnings", []):
                _log.warning("%s", message)
            writer.add(row)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return writer.close(mode="score", seconds=round(time.perf_counter() - start, 3))
