"""Build the Composition-1k test set from Adobe's Test_set and VOC 2012, as Adobe's compose script does.

    alphagan-composition1k --test-set DIR/Combined_Dataset/Test_set \\
        --voc DIR/VOCdevkit/VOC2012/JPEGImages --out DIR/Composition-1k [--workers N]

Writes, under --out:

* ``merged/<fg>_<i>.png``: the 1000 composites, pixel-identical to what Adobe's script writes from the same
  files with the same Pillow (its bicubic resize is the only library arithmetic involved);
* ``alpha_copy/<fg>_<i>.png`` and ``trimaps/<fg>_<i>.png``: one grey copy per composite of the alpha band
  the composite was made with and of the foreground's trimap, so any Composition-1k loader pairs them by name;
* ``MANIFEST.tsv``: every output's path, width, height and the sha256 of its decoded pixels (row-major uint8,
  RGB interleaved for merged/, one byte a pixel for the grey ones), so two users can compare their sets;
* ``recipe.json``: which inputs (by sha256) made which composite; a rerun into a folder built from other
  inputs is refused.

A rerun skips outputs that exist: every file is written under a temporary name and renamed, so a file under
its final name is complete. A bad input (a listed name with no file, too few background names, a foreground
and alpha of different sizes, an unreadable image) is reported in one line naming the file; every input is
checked before the first write, and a foreground whose files fail to decode writes none of its composites.

exit status: 0 the set is complete, 2 nothing more written (the error says why)
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import FIRST_EXCEPTION, wait
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from alphagan_jax.data.builders.adobe_composite import alpha_u8, composite, decode, fit_background, foreground_rgb
from alphagan_jax.data.builders.composition1k_plan import (
    NUM_BGS,
    BuildError,
    ForegroundJob,
    Plan,
    make_plan,
    recipe_difference,
)
from alphagan_jax.data.io import ImageReadError, encode_png
from alphagan_jax.util.process_map import (  # spawn, not fork: callers (tests) may run JAX threads
    one_opencv_thread,
    spawn_pool,
)

MERGED, ALPHA, TRIMAPS = "merged", "alpha_copy", "trimaps"
OUTPUT_DIRS = (MERGED, ALPHA, TRIMAPS)
RECIPE, MANIFEST = "recipe.json", "MANIFEST.tsv"
_PART = ".part"  # temporary files: hidden, and no image suffix, so no reader lists them

ManifestRow = tuple[str, int, int, str]  # path under --out, width, height, sha256 of the decoded pixels


def pixel_sha256(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


def _row(rel: str, pixels: np.ndarray) -> ManifestRow:
    return rel, int(pixels.shape[1]), int(pixels.shape[0]), pixel_sha256(pixels)


def write_atomic(path: Path, data: bytes | np.ndarray) -> None:
    """Write under a temporary name in the same folder, then rename: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_PART}")
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.data)
    os.replace(tmp, path)


def _read(path: Path) -> Image.Image:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImageReadError(f"cannot read image {path}: {e}") from e
    return decode(data, path)


def _existing_row(out: Path, rel: str) -> ManifestRow:
    try:
        with Image.open(out / rel) as img:
            return _row(rel, np.asarray(img))
    except (OSError, SyntaxError, ValueError) as e:
        raise BuildError(f"cannot read earlier output {out / rel} ({e}); delete it and rerun") from e


def build_foreground(job: ForegroundJob, out: Path) -> tuple[list[ManifestRow], int]:
    """Write one foreground's missing outputs; returns its manifest rows and how many composites it wrote.

    Every input is decoded before the first write, so a corrupt file leaves none of its composites behind.
    """
    rels = {name: [f"{d}/{name}.png" for d in OUTPUT_DIRS] for name in job.names}
    todo = [i for i, name in enumerate(job.names) if not all((out / r).is_file() for r in rels[name])]
    if not todo:
        return [_existing_row(out, r) for name in job.names for r in rels[name]], 0
    fg = foreground_rgb(_read(job.fg))
    alpha = alpha_u8(_read(job.alpha), job.alpha)
    trimap = alpha_u8(_read(job.trimap), job.trimap)
    if alpha.shape != fg.shape[:2] or trimap.shape != fg.shape[:2]:
        raise BuildError(f"{job.fg}, {job.alpha} and {job.trimap} decode to different sizes")
    bgs = {i: _read(job.backgrounds[i]) for i in todo}
    h, w = alpha.shape
    grey = {ALPHA: (alpha, encode_png(alpha, job.alpha)), TRIMAPS: (trimap, encode_png(trimap, job.trimap))}
    rows = []
    for i, name in enumerate(job.names):
        merged_rel, alpha_rel, trimap_rel = rels[name]
        if i not in todo:
            rows += [_existing_row(out, r) for r in rels[name]]
            continue
        if (out / merged_rel).is_file():
            rows.append(_existing_row(out, merged_rel))
        else:
            image = composite(alpha, fg, fit_background(bgs[i], w, h))
            write_atomic(out / merged_rel, encode_png(image, out / merged_rel))
            rows.append(_row(merged_rel, image))
        for rel, kind in ((alpha_rel, ALPHA), (trimap_rel, TRIMAPS)):
            pixels, png = grey[kind]
            if not (out / rel).is_file():
                write_atomic(out / rel, png)
            rows.append(_row(rel, pixels))
    return rows, len(todo)


def prepare_out(out: Path, plan: Plan) -> None:
    """Make --out ready for this plan: refuse a folder holding another set, drop stale temporary files."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} exists and is not a folder")
    recipe = out / RECIPE
    if recipe.is_file():
        try:
            old = json.loads(recipe.read_text())
        except (OSError, ValueError) as e:
            raise BuildError(f"cannot read {recipe} ({e}); use an empty --out folder") from e
        difference = recipe_difference(old, plan.recipe)
        if difference:
            raise BuildError(
                f"--out {out} holds a different Composition-1k set: {difference}; use another --out folder"
            )
    else:
        foreign = [
            out / d
            for d in (*OUTPUT_DIRS, MANIFEST)
            if (out / d).exists() and (not (out / d).is_dir() or any((out / d).iterdir()))
        ]
        if foreign:
            raise BuildError(
                f"--out {out} already holds {foreign[0]} but no {RECIPE}: not a set this "
                "builder made; use an empty --out folder"
            )
    for d in OUTPUT_DIRS:
        (out / d).mkdir(parents=True, exist_ok=True)
        for stale in (out / d).glob(f".*{_PART}"):
            stale.unlink()
    if not recipe.is_file():
        write_atomic(recipe, (json.dumps(plan.recipe, indent=1, sort_keys=True) + "\n").encode())


def write_manifest(out: Path, rows: list[ManifestRow]) -> Path:
    lines = ["path\twidth\theight\tsha256_of_pixels"] + ["\t".join(map(str, r)) for r in sorted(rows)]
    write_atomic(out / MANIFEST, ("\n".join(lines) + "\n").encode())
    return out / MANIFEST


def _run_jobs(jobs: tuple[ForegroundJob, ...], out: Path, workers: int | None, bar: tqdm) -> tuple[list, int]:
    rows: list[ManifestRow] = []
    written = 0
    if workers is not None and workers <= 1:
        for job in jobs:
            job_rows, n = build_foreground(job, out)
            rows += job_rows
            written += n
            bar.update(len(job.names))
        return rows, written
    with spawn_pool(workers, one_opencv_thread) as pool:  # its workers encode PNGs with OpenCV
        pending = {pool.submit(build_foreground, job, out): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                job = pending.pop(future)
                error = future.exception()
                if error is not None:
                    # Let running foregrounds finish (their outputs are whole); start no other.
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise error
                job_rows, n = future.result()
                rows += job_rows
                written += n
                bar.update(len(job.names))
    return rows, written


def build(
    test_set: str | Path, voc: str | Path, out: str | Path, workers: int | None = None, num_bgs: int = NUM_BGS
) -> tuple[Path, int, int]:
    """Build (or finish) Composition-1k under `out`; returns (manifest path, composites written, total).

    Raises:
      BuildError, ImageReadError: a bad input or --out folder, named in the message.
    """
    plan = make_plan(test_set, voc, num_bgs)
    out = Path(out)
    prepare_out(out, plan)
    total = sum(len(job.names) for job in plan.jobs)
    with tqdm(total=total, desc="composition-1k", unit="composite", disable=None) as bar:
        rows, written = _run_jobs(plan.jobs, out, workers, bar)
    return write_manifest(out, rows), written, total
