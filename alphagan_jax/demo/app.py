"""The matting page's layout and events (Gradio Blocks); the work is done in :mod:`.session`.

Uploads are ``gr.File`` rather than ``gr.Image``: the page then reads the user's own bytes with predict's
readers (an image component would decode, rotate and re-encode them first, and a download would no longer
match predict's), and a file that is not an image reaches the server, which can say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from alphagan_jax.data.trimap import BG, FG, UNKNOWN
from alphagan_jax.demo.paint import apply_strokes, hex_colour, over_checkerboard, tint
from alphagan_jax.demo.session import KINDS, Matter, PageError, background_of, read_inputs
from alphagan_jax.inference.refine import REFINE_BY_DEFAULT

DEFAULT_BACKGROUND = "#00b140"  # chroma-key green
_HELP = (
    "Load a photo, then give its trimap: upload one, or a rough mask (the band slider sets the unknown strip "
    "around its edge), or paint it. Brushes: yellow ({fg}) = foreground, blue ({bg}) = background, magenta "
    "({unk}) = unknown, where the network decides. Press **Matte** after painting."
)


def _editor_value(image: np.ndarray, trimap: np.ndarray, overlay: bool) -> dict[str, Any]:
    return {"background": tint(image, trimap) if overlay else image, "layers": [], "composite": None}


def _layer(editor: dict | None) -> np.ndarray | None:
    layers = (editor or {}).get("layers") or []
    if not layers:
        return None
    # Every layer counts, in order, so a user who added one still gets all the strokes.
    out = np.asarray(layers[0]).copy()
    for extra in layers[1:]:
        extra = np.asarray(extra)
        if extra.shape == out.shape:
            painted = extra[:, :, 3] > 0
            out[painted] = extra[painted]
    return out


def _error(message: str) -> str:
    return f"⚠️ **{message}**"


def build_app(matter: Matter, examples: dict[str, tuple[Path, Path]] | None = None) -> gr.Blocks:
    """The page for `matter`'s model; `examples` maps a name to (photo, trimap) files offered in a list."""
    colours = {v: hex_colour(v) for v in (FG, BG, UNKNOWN)}
    help_text = _HELP.format(fg=colours[FG], bg=colours[BG], unk=colours[UNKNOWN])

    with gr.Blocks(title="AlphaGAN matting", analytics_enabled=False) as page:
        # (image, base trimap): the arrays read from the uploads, kept per browser tab.
        inputs = gr.State(None)
        # Mattes made in this tab, numbered on the page so a reader (or a test) knows which one it sees.
        count = gr.State(0)
        gr.Markdown(f"# AlphaGAN matting\nModel: `{matter.model.description}`. {help_text}")
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                if examples:
                    example = gr.Dropdown(
                        sorted(examples), value=None, label="Example photo (with its trimap)", elem_id="example"
                    )
                photo = gr.File(label="Photo", file_types=["image"], elem_id="photo")
                trimap_file = gr.File(
                    label="Trimap (0 background, 128 unknown, 255 foreground)", file_types=["image"], elem_id="trimap"
                )
                mask_file = gr.File(label="…or a rough mask (white = subject)", file_types=["image"], elem_id="mask")
                band = gr.Slider(
                    0, 60, value=10, step=1, label="Unknown band around the mask's edge (px)", elem_id="band"
                )
                overlay = gr.Checkbox(True, label="Show the trimap over the photo", elem_id="overlay")
                refine = gr.Checkbox(
                    REFINE_BY_DEFAULT, label="Refine in closed-form matting's system (pymatting)", elem_id="refine"
                )
                colour = gr.ColorPicker(DEFAULT_BACKGROUND, label="New background colour", elem_id="colour")
                picture = gr.File(label="…or a background picture", file_types=["image"], elem_id="picture")
                button = gr.Button("Matte", variant="primary", elem_id="run")
                status = gr.Markdown("Load a photo to start.", elem_id="status")
            with gr.Column(scale=3):
                editor = gr.ImageEditor(
                    label="Trimap: paint over the photo",
                    type="numpy",
                    image_mode="RGBA",
                    format="png",
                    sources=[],
                    transforms=[],
                    layers=False,
                    elem_id="editor",
                    buttons=[],
                    height=620,
                    brush=gr.Brush(
                        colors=[colours[FG], colours[BG], colours[UNKNOWN]],
                        default_color=colours[UNKNOWN],
                        color_mode="fixed",
                        default_size=12,
                    ),
                    eraser=gr.Eraser(default_size=12),
                )
        with gr.Row():
            alpha_view = gr.Image(label="Matte", format="png", interactive=False, elem_id="alpha-view")
            cutout_view = gr.Image(
                label="Cut-out over a checkerboard", format="png", interactive=False, elem_id="cutout-view"
            )
            composite_view = gr.Image(
                label="Over the new background", format="png", interactive=False, elem_id="composite-view"
            )
        with gr.Row():
            downloads = [gr.DownloadButton(f"{k}.png", interactive=False, elem_id=f"download-{k}") for k in KINDS]

        def prepare(photo_path, trimap_path, mask_path, band_px, show):
            try:
                image, trimap, note = read_inputs(photo_path, trimap_path, mask_path, int(band_px))
            except PageError as e:
                return None, None, _error(str(e))
            return (image, trimap), _editor_value(image, trimap, show), note

        def redraw(state, editor_value, show):
            # Strokes are baked into the trimap before the picture under them changes, so none is lost.
            if state is None:
                return state, gr.skip()
            image, base = state
            trimap = apply_strokes(base, _layer(editor_value))
            return (image, trimap), _editor_value(image, trimap, show)

        def matte(state, n, editor_value, use_refine, colour_value, picture_path):
            nothing = [gr.skip()] * (3 + len(KINDS))
            if state is None:
                return [n, _error("Load a photo first: upload one or pick an example.")] + nothing
            image, base = state
            try:
                background, _ = background_of(colour_value, picture_path)
                result = matter.matte(image, base, _layer(editor_value), refine=bool(use_refine), background=background)
            except PageError as e:
                return [n, _error(str(e))] + nothing
            a = result.arrays
            views = [a["alpha"], over_checkerboard(a["cutout"]), a["composite"]]
            files = [gr.DownloadButton(value=str(result.paths[k]), interactive=True) for k in KINDS]
            return [n + 1, f"Matte {n + 1}: {result.summary()}"] + views + files

        guide = [photo, trimap_file, mask_file, band, overlay]
        prepared = [inputs, editor, status]
        photo.upload(prepare, guide, prepared)
        photo.clear(prepare, guide, prepared)
        # A trimap and a mask exclude each other: the one uploaded last is the guide.
        trimap_file.upload(lambda: None, None, mask_file).then(prepare, guide, prepared)
        mask_file.upload(lambda: None, None, trimap_file).then(prepare, guide, prepared)
        trimap_file.clear(prepare, guide, prepared)
        mask_file.clear(prepare, guide, prepared)
        band.release(prepare, guide, prepared)
        overlay.input(redraw, [inputs, editor, overlay], [inputs, editor])
        if examples:

            def pick(name):
                if not name:
                    return gr.skip(), gr.skip(), gr.skip()
                image_path, trimap_path = examples[name]
                return str(image_path), str(trimap_path), None

            example.input(pick, example, [photo, trimap_file, mask_file]).then(prepare, guide, prepared)
        button.click(
            matte,
            [inputs, count, editor, refine, colour, picture],
            [count, status, alpha_view, cutout_view, composite_view, *downloads],
        )
    return page
