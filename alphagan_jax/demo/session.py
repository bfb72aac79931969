"""One page request, with predict's own code: reading the uploads (``inference.inputs.load_job``), the matte
and the foreground (``inference.outputs.matte_outputs``) and the files (``inference.outputs.write_outputs``),
so a download is byte for byte what ``alphagan-predict`` writes for the same photo, trimap or mask, and
background.

Everything a user can get wrong ends in a :class:`PageError` whose message the page shows.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphagan_jax.data.io import ImageReadError, read_rgb
from alphagan_jax.data.trimap import UNKNOWN
from alphagan_jax.demo.paint import apply_strokes
from alphagan_jax.inference.background import Background, load_background, parse_colour
from alphagan_jax.inference.inputs import Job, load_job
from alphagan_jax.inference.outputs import matte_outputs, output_paths, write_outputs

KINDS = ["alpha", "cutout", "trimap", "composite"]
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")


class PageError(Exception):
    """Something the user can fix (a bad upload, a trimap with nothing to matte); the message says what."""


def _short(message: str, *paths: str | Path | None) -> str:
    # Uploads live in a temporary folder whose name means nothing to the user: keep the file names only.
    for p in paths:
        if p is not None:
            message = message.replace(str(Path(p).parent) + "/", "")
    return message


def read_inputs(
    photo: str | None, trimap: str | None = None, mask: str | None = None, band: int = 10
) -> tuple[np.ndarray, np.ndarray, str]:
    """(image uint8 HxWx3, trimap uint8 HxW, a note for the page) of the uploaded files.

    An uploaded trimap is used as it is; otherwise a mask becomes a trimap with `band` unknown pixels each
    side of its edge; with neither, every pixel starts unknown, to be painted.

    Raises:
      PageError: no photo, a file that is not an image, sizes that differ, an empty mask.
    """
    if photo is None:
        raise PageError("Load a photo first: upload one or pick an example.")
    job = Job(
        "", Path(photo), trimap=None if trimap is None else Path(trimap), mask=None if mask is None else Path(mask)
    )
    try:
        if job.guide is None:
            image = read_rgb(job.image)
            return (
                image,
                np.full(image.shape[:2], UNKNOWN, np.uint8),
                ("No trimap or mask yet: every pixel is unknown. Upload one, or paint foreground and background."),
            )
        image, tri = load_job(job, band=band)
    except (ImageReadError, ValueError) as e:
        raise PageError(_short(str(e), photo, trimap, mask)) from e
    note = f"Trimap from {'the uploaded trimap' if trimap is not None else f'the mask, band {band} px'}."
    if not (tri == UNKNOWN).any():
        note += " " + no_unknown_message()
    return image, tri, note


def no_unknown_message() -> str:
    return (
        "The trimap has no unknown pixel, so there is nothing to matte: paint the subject's edge with the "
        "unknown brush, or widen the band."
    )


def background_of(colour: str | None, picture: str | None) -> tuple[Background, str]:
    """(background, what predict's --background would be) of the page's colour picker and picture upload;
    the picture wins.

    Raises:
      PageError: a picture that is not an image, a colour that is not one.
    """
    if picture is not None:
        try:
            return load_background(picture), picture
        except (ImageReadError, ValueError) as e:
            raise PageError("background picture: " + _short(str(e), picture)) from e
    text = (colour or "").strip()
    rgb = parse_colour(text)
    if rgb is None:
        m = _RGB.match(text)  # some Gradio versions report the picker's colour as rgb(a)(...)
        if m is None:
            raise PageError(f"background colour {text!r} is not a colour")
        r, g, b = (int(round(float(v))) for v in m.groups()[:3])
        rgb = (r, g, b)
    return rgb, "#{:02x}{:02x}{:02x}".format(*rgb)


@dataclass
class Result:
    """A matte's arrays (predict's names), the files written, and what it cost."""

    arrays: dict[str, np.ndarray]
    paths: dict[str, Path]
    seconds: float
    network_seconds: float
    compiled: bool

    def summary(self) -> str:
        extra = " (the first photo of this size bucket: compiled)" if self.compiled else ""
        return f"{self.seconds:.2f} s, of which the network {self.network_seconds:.2f} s{extra}."


@dataclass
class LoadedModel:
    """The page's predictor (``(image uint8 HxWx3, trimap uint8 HxW) -> alpha float HxW``, the network
    alone, from :func:`alphagan_jax.artifacts.loader.load_predictor`) and a description for the title."""

    predictor: Any
    description: str


@dataclass
class Matter:
    """The page's model and, made when first asked for, its refined wrapper; one per server process."""

    model: LoadedModel
    out_root: Path
    _refined: Any = field(default=None, repr=False)

    def predictor(self, refine: bool) -> Any:
        if not refine:
            return self.model.predictor
        if self._refined is None:
            from alphagan_jax.inference.refine import RefinedPredictor

            try:
                self._refined = RefinedPredictor(self.model.predictor)
            except ImportError as e:
                raise PageError(f"{e}; or untick refine") from e
        return self._refined

    def matte(
        self, image: np.ndarray, base: np.ndarray, layer: np.ndarray | None, *, refine: bool, background: Background
    ) -> Result:
        """Matte `image` with `base` plus the painted `layer`; write predict's four files to a new folder.

        Raises:
          PageError: the trimap has no unknown pixel, or refinement is asked for without pymatting.
        """
        trimap = apply_strokes(base, layer)
        if not (trimap == UNKNOWN).any():
            raise PageError(no_unknown_message())
        predictor = self.predictor(refine)
        compiles, network = predictor.num_compiles, predictor.predict_seconds
        start = time.perf_counter()
        arrays = matte_outputs(predictor, image, trimap, background)
        arrays["trimap"] = trimap
        out = Path(tempfile.mkdtemp(prefix="matte-", dir=self.out_root))
        paths = output_paths(out, "", KINDS)
        write_outputs(paths, arrays)
        return Result(
            arrays,
            paths,
            time.perf_counter() - start,
            predictor.predict_seconds - network,
            predictor.num_compiles > compiles,
        )
