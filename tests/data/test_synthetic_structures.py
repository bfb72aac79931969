"""Procedural sheets, meshes and yarn: what each kind's alpha holds, and the foregrounds tool's --synthetic."""

import numpy as np
import pytest

from alphagan_jax.data.synthetic_structures import KINDS, make_structure

SIZE = 256


def fractions(alpha: np.ndarray) -> tuple[float, float, float]:
    """Shares of clear (< 5 %), partial and opaque (> 95 %) pixels."""
    a = alpha / 255.0
    return float((a < 0.05).mean()), float(((a >= 0.05) & (a <= 0.95)).mean()), float((a > 0.95).mean())


@pytest.mark.parametrize("seed", range(4))
def test_each_kind_holds_its_structure(seed):
    sheet, mesh, yarn = (make_structure(np.random.default_rng(seed), SIZE, k)[1] for k in KINDS)
    # A sheet is mostly semi-transparent: a large partial area, and it is not a solid body.
    clear, partial, opaque = fractions(sheet)
    assert partial > 0.2 and opaque < 0.25, (clear, partial, opaque)
    # A mesh is threads and holes: inside the net's bounding box most pixels are clear, many are not.
    ys, xs = np.nonzero(mesh > 128)
    box = mesh[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    clear, partial, opaque = fractions(box)
    assert clear > 0.3 and partial + opaque > 0.1, (clear, partial, opaque)
    # Holes are everywhere, not one big gap: most 16 px tiles of the box hold both a thread and a hole.
    tiles = [
        box[y : y + 16, x : x + 16] for y in range(0, box.shape[0] - 15, 16) for x in range(0, box.shape[1] - 15, 16)
    ]
    assert np.mean([(t < 13).any() and (t > 128).any() for t in tiles]) > 0.4
    # Yarn: a dense body (85-100 % opaque: loosely spun) with partly transparent fibres around it.
    body = (yarn / 255.0 > 0.8).mean()
    fibres = ((yarn / 255.0 > 0.05) & (yarn / 255.0 < 0.6)).mean()
    assert body > 0.02 and fibres > 0.005, (body, fibres)


def test_deterministic_and_typed():
    a = make_structure(np.random.default_rng(7), SIZE, "mesh")
    b = make_structure(np.random.default_rng(7), SIZE, "mesh")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    fg, alpha, bg = a
    assert fg.shape == bg.shape == (SIZE, SIZE, 3) and alpha.shape == (SIZE, SIZE)
    assert fg.dtype == alpha.dtype == bg.dtype == np.uint8
    with pytest.raises(ValueError, match="unknown structure kind 'net'"):
        make_structure(np.random.default_rng(0), SIZE, "net")


def test_foregrounds_tool_adds_them_as_a_folder_source(tmp_path, capsys):
    """--synthetic writes fg/alpha/bg_own per structure, which the folder source pairs (own backgrounds too)."""
    from helpers import write_image

    from alphagan_jax.cli.foregrounds import main
    from alphagan_jax.data.sources.folder import folder_pools

    data = tmp_path / "photos"
    alpha = np.zeros((96, 96), np.uint8)
    alpha[30:60, 30:60], alpha[28:30, 30:60] = 255, 128
    write_image(data / "image" / "P0.png", np.full((96, 96, 3), 90, np.uint8))
    write_image(data / "alpha" / "P0.png", alpha)
    out = tmp_path / "train"
    assert main(["--data", str(data), "--out", str(out), "--synthetic", "3", "--synthetic-size", "128"]) == 0
    assert "1 photos and 3 procedural foregrounds" in capsys.readouterr().out
    pools = folder_pools(str(out), bg_path=str(out / "Train" / "bg_own"))
    names = sorted(p.split("/")[-1] for p in pools.fg.paths)
    assert names == ["P0.png", "synth_mesh_01.png", "synth_sheet_00.png", "synth_yarn_02.png"]
    assert len(pools.own_bg) == 4
    assert main(["--data", str(data), "--out", str(out), "--synthetic", "-1"]) == 2
