"""The inputs of ``alphagan_jax.cli.predict``: photos paired with a trimap or a rough mask, read and checked.

Folders pair by file stem as evaluate.py does (``photo.jpg`` with ``trimaps/photo.png``). Pairing reads no
pixels, and a photo without its trimap or mask becomes a :class:`Job` with a `problem` instead of an
exception, so one bad file is reported and skipped while the rest of the folder is matted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphagan_jax.data.eval_sources import check_sizes, files_by_stem
from alphagan_jax.data.io import ImageReadError, list_images, read_rgb, read_trimap
from alphagan_jax.data.mask_trimap import DEFAULT_THRESHOLDS, mask_file_to_trimap

_log = logging.getLogger(__name__)


@dataclass
class Job:
    """One photo to matte: its guide is a trimap or a mask file; `problem` says why it cannot run."""

    name: str  # output prefix: '' for a single photo, the file stem in folder mode
    image: Path
    trimap: Path | None = None
    mask: Path | None = None
    problem: str = ""

    @property
    def guide(self) -> Path | None:
        return self.trimap if self.trimap is not None else self.mask


def pair_folder(image_dir: str | Path, guide_dir: str | Path, kind: str) -> list[Job]:
    """One job per photo in `image_dir` (file-name order), its `kind` ('trimap' or 'mask') paired by stem.

    Raises:
      ImageReadError: a folder is missing or holds no image.
    """
    images = list_images(image_dir)
    guides = files_by_stem(Path(guide_dir))
    jobs: list[Job] = []
    seen: dict[str, Path] = {}
    for image in images:
        guide = guides.get(image.stem)
        job = Job(image.stem, image)
        setattr(job, kind, guide)  # kind is "trimap" or "mask"
        if image.stem in seen:
            # photo.jpg and photo.png would write the same photo.alpha.png.
            job.problem = f"{image} has the same name as {seen[image.stem]}: their outputs would collide"
        elif guide is None:
            job.problem = f"no {kind} for image {image} in {guide_dir}"
        seen.setdefault(image.stem, image)
        jobs.append(job)
    unused = sorted(set(guides) - set(seen))
    if unused:
        _log.warning(
            "%d %ss in %s have no image in %s (ignored): %s%s",
            len(unused),
            kind,
            guide_dir,
            image_dir,
            ", ".join(unused[:10]),
            " ..." if len(unused) > 10 else "",
        )
    return jobs


def load_job(
    job: Job,
    *,
    unknown_value: int | None = None,
    band: int = 10,
    thresholds: tuple[float, float] = DEFAULT_THRESHOLDS,
) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 HxWx3, trimap uint8 HxW in {0, 128, 255}) of a job; errors name the file.

    A mask becomes a trimap with an unknown band of `band` px (:mod:`alphagan_jax.data.mask_trimap`).

    Raises:
      ImageReadError: unpaired photo, unreadable or corrupt file, sizes that differ, an empty mask.
    """
    if job.problem:
        raise ImageReadError(job.problem)
    image = read_rgb(job.image)
    if job.trimap is not None:
        trimap = read_trimap(job.trimap, unknown_value=unknown_value)
    else:
        assert job.mask is not None  # a Job has a trimap or a mask
        trimap = mask_file_to_trimap(job.mask, band, thresholds)
    check_sizes(job.name or job.image.stem, {job.image: image.shape[:2], job.guide: trimap.shape})
    if not (trimap == 128).any():
        _log.warning(
            "%s %s has no unknown pixel: the matte is the trimap itself",
            "trimap" if job.trimap is not None else "the trimap made from mask",
            job.guide,
        )
    return image, trimap
