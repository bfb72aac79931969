"""The Composition-1k builder against a literal transcription of Adobe's compose script, end to end through
evaluate.py on real photos, and its bad-input messages."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphagan_jax.cli import evaluate
from alphagan_jax.cli.composition1k import main
from alphagan_jax.data.builders import composition1k
from alphagan_jax.data.builders.composition1k import build

ADOBE = "Adobe-licensed images"


def adobe_script(fg_path: Path, a_path: Path, bg_paths: list[Path]) -> list[np.ndarray]:
    """Adobe's Composition_code.py loop for one foreground, transcribed statement by statement (slow PIL
    pixel access); only the alpha read differs: the script's ``a_list[x, y][0]`` fails on a grey alpha,
    whose pixel is an int, so an int is taken as is."""
    im = Image.open(fg_path)
    a = Image.open(a_path)
    w, h = im.size
    if im.mode != "RGB" and im.mode != "RGBA":
        im = im.convert("RGB")
    outs = []
    for bg_path in bg_paths:
        bg = Image.open(bg_path)
        if bg.mode != "RGB":
            bg = bg.convert("RGB")
        bw, bh = bg.size
        wratio = w / bw
        hratio = h / bh
        ratio = wratio if wratio > hratio else hratio
        if ratio > 1:
            bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
        bg = bg.crop((0, 0, w, h))
        fg_list, bg_list, a_list = im.load(), bg.load(), a.load()
        for y in range(h):
            for x in range(w):
                pixel = a_list[x, y]
                alpha = (pixel if isinstance(pixel, int) else pixel[0]) / 255
                if alpha >= 1:
                    bg_list[x, y] = (int(fg_list[x, y][0]), int(fg_list[x, y][1]), int(fg_list[x, y][2]), 255)
                elif alpha > 0:
                    r = int(alpha * fg_list[x, y][0] + (1 - alpha) * bg_list[x, y][0])
                    g = int(alpha * fg_list[x, y][1] + (1 - alpha) * bg_list[x, y][1])
                    b = int(alpha * fg_list[x, y][2] + (1 - alpha) * bg_list[x, y][2])
                    bg_list[x, y] = (r, g, b, 255)
        outs.append(np.asarray(bg))
    return outs


def write_test_set(
    root: Path, fgs: dict[str, tuple[Image.Image, Image.Image, Image.Image]], bgs: list[Image.Image]
) -> tuple[Path, Path]:
    """Adobe's layout: Test_set/{test_fg_names,test_bg_names}.txt, 'Adobe-licensed images'/{fg,alpha,trimaps}
    (PNG), and the backgrounds as JPEGs in a VOC-like folder, listed in an order that is not the folders'."""
    test_set, voc = root / "Combined_Dataset" / "Test_set", root / "VOC2012" / "JPEGImages"
    for sub in ("fg", "alpha", "trimaps"):
        (test_set / ADOBE / sub).mkdir(parents=True)
    voc.mkdir(parents=True)
    for name, images in fgs.items():
        for sub, img in zip(("fg", "alpha", "trimaps"), images, strict=True):
            img.save(test_set / ADOBE / sub / name)
    bg_names = [f"2008_{900 - i:06d}.jpg" for i in range(len(bgs))]  # descending: list order != sorted order
    for name, img in zip(bg_names, bgs, strict=True):
        img.save(voc / name, quality=90)
    (test_set / "test_fg_names.txt").write_text("\n".join(fgs) + "\n")
    (test_set / "test_bg_names.txt").write_text("\n".join(bg_names) + "\n")
    return test_set, voc


def read_manifest(out: Path) -> dict[str, tuple[int, int, str]]:
    with open(out / "MANIFEST.tsv", newline="") as f:
        return {
            r["path"]: (int(r["width"]), int(r["height"]), r["sha256_of_pixels"])
            for r in csv.DictReader(f, delimiter="\t")
        }


def final_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))


def tiny_foreground(rng: np.random.Generator, w: int, h: int, fg_mode: str, alpha_mode: str):
    a = rng.integers(0, 256, (h, w), dtype=np.uint8)
    a.flat[:8] = (0, 1, 254, 255, 0, 1, 254, 255)  # the rule's edges: 1/255 and 254/255 blend, 255 is fg
    a[-3:, :] = 255
    a[:3, -4:] = 0
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if fg_mode == "RGBA":  # an A channel that the script ignores
        fg = Image.fromarray(np.dstack([rgb, rng.integers(0, 256, (h, w), dtype=np.uint8)]), "RGBA")
    else:
        fg = Image.fromarray(rgb).convert(fg_mode)
    alpha = Image.fromarray(a).convert(alpha_mode)  # 'RGB' stores R = G = B, as Adobe's alphas
    trimap = Image.fromarray(np.where(a == 0, 0, np.where(a == 255, 255, 128)).astype(np.uint8))
    return fg, alpha, trimap


@pytest.fixture
def tiny_set(tmp_path):
    """Two 23x17 foregrounds (RGB with an RGB alpha, RGBA with a grey alpha), a palette one, and per
    foreground 4 JPEG backgrounds: colour and greyscale, smaller than the foreground (one on one side only,
    the bicubic branch) and larger (the crop)."""
    rng = np.random.default_rng(0)
    fgs = {
        "rgb_fg.png": tiny_foreground(rng, 23, 17, "RGB", "RGB"),
        "rgba_fg.png": tiny_foreground(rng, 23, 17, "RGBA", "L"),
        "palette.png": tiny_foreground(rng, 19, 21, "P", "RGB"),
    }
    sizes = [(9, 7), (40, 30), (11, 25), (31, 18)]  # (w, h): smaller, larger, smaller in w only, larger
    bgs = []
    for k in range(len(fgs) * 4):
        w, h = sizes[k % 4]
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        bgs.append(img.convert("L") if k % 3 == 1 else img)
    return write_test_set(tmp_path, fgs, bgs), fgs


def test_composites_equal_adobe_script_pixel_for_pixel(tiny_set, tmp_path):
    (test_set, voc), fgs = tiny_set
    out = tmp_path / "c1k"
    manifest, written, total = build(test_set, voc, out, workers=1, num_bgs=4)
    assert written == total == 12
    bg_names = (test_set / "test_bg_names.txt").read_text().split()
    assert any(Image.open(voc / n).mode == "L" for n in bg_names)
    for k, name in enumerate(fgs):
        bgs = [voc / n for n in bg_names[4 * k : 4 * k + 4]]
        expected = adobe_script(test_set / ADOBE / "fg" / name, test_set / ADOBE / "alpha" / name, bgs)
        alpha = np.asarray(Image.open(test_set / ADOBE / "alpha" / name))
        alpha = alpha if alpha.ndim == 2 else alpha[:, :, 0]
        trimap = np.asarray(Image.open(test_set / ADOBE / "trimaps" / name))
        trimap = trimap if trimap.ndim == 2 else trimap[:, :, 0]
        assert not np.array_equal(trimap, alpha)  # so a swap of the two copies cannot pass
        for i, want in enumerate(expected):
            stem = f"{name[:-4]}_{i}"
            got = np.asarray(Image.open(out / "merged" / f"{stem}.png"))
            assert got.shape == want.shape and got.dtype == np.uint8
            assert np.array_equal(got, want), f"{stem}: {int((got != want).any(-1).sum())} pixels differ"
            np.testing.assert_array_equal(np.asarray(Image.open(out / "alpha_copy" / f"{stem}.png")), alpha)
            # Every composite's trimap is its foreground's, pixel for pixel.
            np.testing.assert_array_equal(np.asarray(Image.open(out / "trimaps" / f"{stem}.png")), trimap)
    # The manifest: every output once, with the sha256 of its decoded pixels.
    rows = read_manifest(out)
    assert sorted(rows) == sorted(
        str(p.relative_to(out)) for p in final_files(out) if p.parent.name in ("merged", "alpha_copy", "trimaps")
    )
    for rel, (w, h, sha) in rows.items():
        pixels = np.asarray(Image.open(out / rel))
        assert (w, h) == (pixels.shape[1], pixels.shape[0])
        assert sha == hashlib.sha256(pixels.tobytes()).hexdigest()


def test_rerun_skips_complete_outputs_and_finishes_an_interrupted_build(tiny_set, tmp_path, monkeypatch):
    (test_set, voc), _ = tiny_set
    clean = tmp_path / "clean"
    build(test_set, voc, clean, workers=1, num_bgs=4)
    out = tmp_path / "c1k"
    calls = {"n": 0}
    real = composition1k.composite

    def crash_on_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed mid-build
        return real(*args)

    monkeypatch.setattr(composition1k, "composite", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        build(test_set, voc, out, workers=1, num_bgs=4)
    assert len(list((out / "merged").glob("*.png"))) == 2 and not (out / "MANIFEST.tsv").exists()
    monkeypatch.setattr(composition1k, "composite", real)
    (out / "merged" / ".rgb_fg_2.png.123.part").write_bytes(b"half a file")  # a killed write's leftover
    before = {p: p.stat().st_mtime_ns for p in (out / "merged").glob("*.png")}
    _, written, total = build(test_set, voc, out, workers=1, num_bgs=4)
    assert (written, total) == (10, 12)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # not rewritten
    assert not list(out.rglob("*.part"))
    assert read_manifest(out) == read_manifest(clean)
    _, written, _ = build(test_set, voc, out, workers=1, num_bgs=4)
    assert written == 0


# Bad inputs: one line naming the file, exit status 2, nothing under a final name.


def run_cli(test_set: Path, voc: Path, out: Path, capsys) -> str:
    rc = main(["--test-set", str(test_set), "--voc", str(voc), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def small_set(tmp_path: Path, num_fg: int = 2) -> tuple[Path, Path]:
    """Adobe's real shape in miniature: num_fg foregrounds, 20 backgrounds each."""
    rng = np.random.default_rng(1)
    fgs = {f"fg{k}.png": tiny_foreground(rng, 8, 6, "RGB", "RGB") for k in range(num_fg)}
    bgs = [Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)) for _ in range(20 * num_fg)]
    return write_test_set(tmp_path, fgs, bgs)


def test_listed_foreground_without_file(tmp_path, capsys):
    test_set, voc = small_set(tmp_path)
    (test_set / ADOBE / "fg" / "fg1.png").unlink()
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert "'fg1.png'" in err and "test_fg_names.txt" in err
    assert not (tmp_path / "out").exists()


def test_listed_background_without_file(tmp_path, capsys):
    test_set, voc = small_set(tmp_path)
    missing = (test_set / "test_bg_names.txt").read_text().split()[27]
    (voc / missing).unlink()
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert missing in err and "line 28" in err
    assert not (tmp_path / "out").exists()


def test_too_few_background_names(tmp_path, capsys):
    test_set, voc = small_set(tmp_path)
    names = (test_set / "test_bg_names.txt").read_text().split()
    (test_set / "test_bg_names.txt").write_text("\n".join(names[:39]) + "\n")
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert "lists 39 background names; 2 foregrounds x 20 need 40" in err
    assert not (tmp_path / "out").exists()


def test_foreground_and_alpha_of_different_sizes(tmp_path, capsys):
    test_set, voc = small_set(tmp_path)
    Image.new("RGB", (9, 6)).save(test_set / ADOBE / "alpha" / "fg0.png")
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert str(test_set / ADOBE / "alpha" / "fg0.png") in err and "8x6" in err and "9x6" in err
    assert not (tmp_path / "out").exists()


def test_unreadable_image(tmp_path, capsys):
    test_set, voc = small_set(tmp_path)
    bad = voc / (test_set / "test_bg_names.txt").read_text().split()[3]
    bad.write_bytes(b"not a jpeg")
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert f"cannot read image {bad}" in err
    assert not (tmp_path / "out").exists()


def test_truncated_image_writes_none_of_its_composites(tmp_path, capsys):
    # The header reads, the pixels do not: found while decoding, before that foreground's first write.
    test_set, voc = small_set(tmp_path)
    fg = test_set / ADOBE / "fg" / "fg1.png"
    fg.write_bytes(fg.read_bytes()[:-30])
    err = run_cli(test_set, voc, tmp_path / "out", capsys)
    assert f"cannot read image {fg}" in err
    assert (tmp_path / "out" / "recipe.json").exists()  # the up-front checks passed
    assert len(list((tmp_path / "out" / "merged").glob("fg0_*"))) == 20
    assert not list((tmp_path / "out" / "merged").glob("fg1_*"))
    assert not list((tmp_path / "out").rglob("*.part"))


def test_out_holding_a_different_set(tmp_path, capsys):
    test_set, voc = small_set(tmp_path, num_fg=1)
    out = tmp_path / "out"
    assert main(["--test-set", str(test_set), "--voc", str(voc), "--out", str(out), "--workers", "1"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in final_files(out)}
    names = (test_set / "test_bg_names.txt").read_text().split()
    names[0], names[1] = names[1], names[0]  # another pairing of the same files
    (test_set / "test_bg_names.txt").write_text("\n".join(names) + "\n")
    err = run_cli(test_set, voc, out, capsys)
    assert f"--out {out} holds a different Composition-1k set" in err and "fg0_0" in err
    assert {p: p.read_bytes() for p in final_files(out)} == before
    # A folder another tool filled is refused too.
    other = tmp_path / "other"
    (other / "merged").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(other / "merged" / "fg0_0.png")
    err = run_cli(test_set, voc, other, capsys)
    assert str(other / "merged") in err and "recipe.json" in err


# Real photos, Adobe's layout -> the builder (with its process pool) -> evaluate.py scores every composite.


def test_real_photos_build_and_evaluate(shared_data, tmp_path, trained_workdir):
    am = shared_data / "alphamatting"
    fgs = {}
    for name in ("GT01", "GT13"):
        image, alpha, trimap = (Image.open(am / sub / f"{name}.png") for sub in ("image", "alpha", "trimap"))
        size = (image.width // 5, image.height // 5)  # small: evaluated at full resolution on the CPU
        fgs[f"{name}.png"] = (
            image.resize(size, Image.BICUBIC),
            alpha.resize(size, Image.BILINEAR),
            trimap.resize(size, Image.NEAREST),
        )
    photos = sorted(p for p in (shared_data / "backgrounds").iterdir() if p.suffix in (".png", ".jpg"))
    bgs = []
    for k in range(40):
        photo = Image.open(photos[k % len(photos)])
        side = (100, 250)[k % 2]  # below and above the foregrounds' 160 px: both branches
        bgs.append(photo.resize((side, side * 3 // 4), Image.BILINEAR))
    test_set, voc = write_test_set(tmp_path, fgs, bgs)
    assert (test_set / ADOBE / "alpha" / "GT01.png").exists() and Image.open(
        test_set / ADOBE / "alpha" / "GT01.png"
    ).mode == "RGB"
    out = tmp_path / "Composition-1k"
    assert main(["--test-set", str(test_set), "--voc", str(voc), "--out", str(out), "--workers", "2"]) == 0
    assert len(read_manifest(out)) == 3 * 40
    results = tmp_path / "results"
    rc = evaluate.main(
        [
            "--workdir",
            str(trained_workdir),
            "--data",
            "composition1k",
            "--data-path",
            str(out),
            "--out",
            str(results),
            "--bucket",
            "64",
            "--workers",
            "1",
        ]
    )
    assert rc == 0
    summary = json.loads((results / "summary.json").read_text())
    assert summary["num_images"] == summary["num_scored"] == 40
    with open(results / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["name"] for r in rows) == sorted(f"{n}_{i}" for n in ("GT01", "GT13") for i in range(20))
    assert all(r["status"] == "ok" for r in rows)
    # Each row's SAD recomputed here from the files, by the benchmark's definition (the sum of |pred - gt| in
    # [0, 1] over the trimap's unknown pixels, / 1000): a swap of alpha and trimap cannot pass.
    for r in rows:
        pred, gt = (
            np.asarray(Image.open(folder / f"{r['name']}.png")).astype(np.float64) / 255
            for folder in (results / "alpha", out / "alpha_copy")
        )
        unknown = np.asarray(Image.open(out / "trimaps" / f"{r['name']}.png")) == 128
        assert unknown.any()
        assert float(r["sad"]) == pytest.approx(np.abs(pred - gt)[unknown].sum() / 1000, rel=1e-5)  # CSV: 6 digits
