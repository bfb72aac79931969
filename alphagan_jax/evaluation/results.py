"""Evaluation results: one row per image, ``metrics.csv`` written as rows arrive, ``summary.json`` at the end.

A row is a dict with 'name', 'status' (:data:`OK`, :data:`NO_UNKNOWN`, :data:`NO_GT` or :data:`ERROR`),
'message' and, when scored, the errors of :mod:`alphagan_jax.evaluation.metrics`, 'num_unknown', 'height', 'width'.
Only 'ok' rows enter the means; the others are counted, and errors are listed in the summary.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alphagan_jax.evaluation import metrics

_log = logging.getLogger(__name__)

CSV_FIELDS = ("name", "status", *metrics.METRIC_NAMES, "num_unknown", "height", "width", "message")
OK, NO_UNKNOWN, NO_GT, ERROR = "ok", "no_unknown", "no_gt", "error"


def metric_row(name: str, result: dict[str, float], height: int, width: int) -> dict[str, Any]:
    """A CSV row from :func:`metrics.compute_metrics` output; no unknown pixel gives status 'no_unknown'."""
    row: dict[str, Any] = {"name": name, "status": OK, "height": height, "width": width, "message": ""}
    row.update(result)
    if result.get("num_unknown", 0) == 0:
        row["status"] = NO_UNKNOWN
        row["message"] = "trimap has no unknown (128) pixel; left out of the means"
    return row


def error_row(name: str, message: str, status: str = ERROR) -> dict[str, Any]:
    """A row for an image that was not scored ('error' by default, or e.g. 'no_gt')."""
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
        self._file = open(self.out_dir / "metrics.csv", "w", newline="")  # noqa: SIM115 - open while rows come; close()
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS, extrasaction="ignore")
        self._csv.writeheader()
        self._file.flush()

    def add(self, row: dict[str, Any]) -> None:
        """Append a row to the CSV now (flushed, so an interrupted run keeps it); errors are also logged."""
        self.rows.append(row)
        if row["status"] in (ERROR, NO_UNKNOWN):
            _log.warning("%s: %s", row["name"], row["message"])
        self._csv.writerow({k: _fmt(row.get(k, "")) for k in CSV_FIELDS})
        self._file.flush()

    def close(self, **extra: Any) -> dict[str, Any]:
        """Close the CSV and write ``summary.json``: :func:`summarize` of the rows plus `extra`."""
        self._file.close()
        summary = summarize(self.rows)
        summary.update(extra)
        (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v
