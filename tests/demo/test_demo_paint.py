"""The matting page's logic without a browser: painted layers read back as trimaps, the overlays, and a
page request writing predict's files (the browser test is tests/demo/test_demo_browser.py)."""

import numpy as np
import pytest

from alphagan_jax.cli.predict import main as predict_main
from alphagan_jax.data import io
from alphagan_jax.data.trimap import BG, FG, UNKNOWN
from alphagan_jax.demo.paint import COLOURS, apply_strokes, over_checkerboard, tint
from alphagan_jax.demo.session import LoadedModel, Matter, PageError, background_of, read_inputs


def _layer(shape, strokes):
    layer = np.zeros((*shape, 4), np.uint8)
    for (ys, xs), value, alpha in strokes:
        layer[ys, xs, :3] = COLOURS[value]
        layer[ys, xs, 3] = alpha
    return layer


def test_strokes_set_their_class_and_unpainted_pixels_keep_the_base():
    base = np.full((8, 10), BG, np.uint8)
    layer = _layer(
        (8, 10),
        [
            ((slice(0, 2), slice(None)), FG, 255),
            ((slice(4, 6), slice(2, 5)), UNKNOWN, 128),
            ((slice(7, 8), slice(None)), FG, 10),
        ],
    )  # too faint to count as paint
    out = apply_strokes(base, layer)
    assert (out[:2] == FG).all() and (out[4:6, 2:5] == UNKNOWN).all()
    assert (out[2:4] == BG).all() and (out[7] == BG).all() and (out[4:6, 5:] == BG).all()


def test_a_stroke_over_another_reads_as_the_newer_one():
    # What a canvas keeps where a 70 % opaque magenta stroke crosses an opaque yellow one (source-over).
    old, new = np.array(COLOURS[FG], float), np.array(COLOURS[UNKNOWN], float)
    layer = np.zeros((1, 1, 4), np.uint8)
    layer[0, 0, :3], layer[0, 0, 3] = np.round(0.7 * new + 0.3 * old), 255
    assert apply_strokes(np.zeros((1, 1), np.uint8), layer)[0, 0] == UNKNOWN


def test_a_layer_of_another_size_is_resized_and_an_rgb_layer_ignored():
    base = np.full((4, 6), FG, np.uint8)
    layer = _layer((8, 12), [((slice(0, 4), slice(None)), BG, 255)])
    out = apply_strokes(base, layer)
    assert (out[:2] == BG).all() and (out[2:] == FG).all()
    assert (apply_strokes(base, np.zeros((4, 6, 3), np.uint8)) == base).all()
    assert (apply_strokes(base, None) == base).all()


def test_tint_and_checkerboard():
    image = np.full((32, 32, 3), 100, np.uint8)
    trimap = np.full((32, 32), UNKNOWN, np.uint8)
    trimap[:, :16] = FG
    tinted = tint(image, trimap)
    assert not (tinted[:, :16] == tinted[:, 16:]).all()
    cutout = np.zeros((32, 32, 4), np.uint8)
    cutout[:, :16] = (255, 0, 0, 255)
    shown = over_checkerboard(cutout)
    assert (shown[:, :16] == (255, 0, 0)).all()
    assert len(np.unique(shown[:, 16:, 0])) == 2  # the two greys of the squares


def test_bad_uploads_are_page_errors_naming_the_file(tmp_path):
    photo = io.write_png(tmp_path / "photo.png", np.zeros((20, 30, 3), np.uint8))
    small = io.write_png(tmp_path / "small.png", np.zeros((10, 30), np.uint8))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(PageError, match="Load a photo"):
        read_inputs(None)
    with pytest.raises(PageError, match="junk.png") as e:
        read_inputs(str(junk))
    assert str(tmp_path) not in str(e.value)
    with pytest.raises(PageError, match="30x10|differ|size"):
        read_inputs(str(photo), trimap=str(small))
    full = io.write_png(tmp_path / "full.png", np.full((20, 30), FG, np.uint8))
    _, trimap, note = read_inputs(str(photo), trimap=str(full))
    assert "no unknown pixel" in note and (trimap == FG).all()
    _, trimap, note = read_inputs(str(photo))
    assert (trimap == UNKNOWN).all() and "paint" in note


def test_background_of_colour_picture_and_rgba_strings(tmp_path):
    assert background_of("#00b140", None) == ((0, 177, 64), "#00b140")
    assert background_of("rgba(0, 177, 64, 1)", None) == ((0, 177, 64), "#00b140")
    with pytest.raises(PageError):
        background_of("green-ish", None)
    junk = tmp_path / "bg.png"
    junk.write_bytes(b"\x89PNG broken")
    with pytest.raises(PageError, match="background picture"):
        background_of("#000000", str(junk))


class _Stub:
    """A predictor stand-in with the Predictor's counters: alpha = the image's red channel."""

    num_compiles, predict_seconds, compile_seconds = 0, 0.0, 0.0

    def __call__(self, image, trimap):
        return image[:, :, 0] / 255.0


def test_a_request_writes_what_predict_writes(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    photo = io.write_png(tmp_path / "photo.png", rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    mask = np.zeros((24, 40), np.uint8)
    mask[6:18, 10:30] = 255
    mask_path = io.write_png(tmp_path / "mask.png", mask)
    image, base, _ = read_inputs(str(photo), mask=str(mask_path), band=3)
    out_root = tmp_path / "page"
    out_root.mkdir()
    matter = Matter(LoadedModel(_Stub(), "stub"), out_root)
    background, spec = background_of("#336699", None)
    with pytest.raises(PageError, match="no unknown pixel"):
        matter.matte(image, np.full_like(base, FG), None, refine=False, background=background)
    result = matter.matte(image, base, None, refine=False, background=background)
    assert result.paths["alpha"].parent.parent == out_root

    import alphagan_jax.cli.predict as predict

    monkeypatch.setattr(predict, "_load_predictor", lambda args: (_Stub(), 0))
    assert (
        predict_main(
            [
                "--workdir",
                str(tmp_path),
                "--image",
                str(photo),
                "--mask",
                str(mask_path),
                "--band",
                "3",
                "--background",
                spec,
                "--out",
                str(tmp_path / "cli"),
                "--no-refine",
            ]
        )
        == 0
    )
    for kind in ("alpha", "cutout", "trimap", "composite"):
        assert result.paths[kind].read_bytes() == (tmp_path / "cli" / f"{kind}.png").read_bytes(), kind
