"""Training-data throughput: the tf.data pipeline vs a plain Python/OpenCV per-sample loader.

Both build the same samples: fg + alpha + bg, a crop around an unknown pixel after a random scale,
resized to 320, flips, a float32 composite and a trimap with random kernels. The baseline is what a
PyTorch `Dataset.__getitem__` would do, run in 1 process or in 2 worker processes (DataLoader-style).
Each is measured twice: decoding the files for every sample, and with the images decoded once into RAM
(tf.data's default through data.decoded_cache_mb; the baseline given the same shortcut).

  python -m bench.data_pipeline --out results.json [--data ../shared/data] [--seconds 10]

Data: fg/alpha from alphamatting/ (the photo stands in for F), backgrounds from backgrounds/; with no
shared data, synthetic pools written to a temporary folder.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

from alphagan_jax.data.io import list_images, write_png
from alphagan_jax.data.pools import Pool, TrainPools
from alphagan_jax.data.trimap import FG, UNKNOWN, random_trimap
from bench.common import write_json
from configs.default import get_data_config

SIZE = 320


def bench_files(data: Path) -> tuple[list[str], list[str], list[str]]:
    """(fg paths, alpha paths, bg paths) on disk."""
    if (data / "alphamatting" / "alpha").is_dir():
        fgs = [str(p) for p in list_images(data / "alphamatting" / "image")]
        alphas = [str(p) for p in list_images(data / "alphamatting" / "alpha")]
        return fgs, alphas, [str(p) for p in list_images(data / "backgrounds")]
    from alphagan_jax.data.synthetic import synthetic_pools

    tmp = Path(tempfile.mkdtemp(prefix="bench_data_"))
    p = synthetic_pools(16, 8, 800, seed=0)
    for i in range(16):
        write_png(tmp / "fg" / f"{i}.png", p.fg[i])
        write_png(tmp / "alpha" / f"{i}.png", p.alpha[i])
    for i in range(8):
        write_png(tmp / "bg" / f"{i}.png", p.bg[i])
    return (
        [str(x) for x in list_images(tmp / "fg")],
        [str(x) for x in list_images(tmp / "alpha")],
        [str(x) for x in list_images(tmp / "bg")],
    )


# ---- baseline: plain Python/OpenCV, one sample per call -------------------------------------------------
class OpenCVLoader:
    """A typical PyTorch-style Dataset: __getitem__(k) builds sample k with NumPy/OpenCV.

    With in_ram, every image is decoded once up front and the unknown pixels of each matte are listed
    once: the same shortcut the tf.data pipeline takes with data.decoded_cache_mb, for a like-for-like
    comparison.
    """

    def __init__(self, fgs, alphas, bgs, config, in_ram: bool = False):
        self.fgs, self.alphas, self.bgs, self.c = fgs, alphas, bgs, config
        self.in_ram = in_ram
        if in_ram:
            self.fg_img = [self._rgb(p) for p in fgs]
            self.alpha_img = [cv2.imread(p, cv2.IMREAD_GRAYSCALE) for p in alphas]
            self.bg_img = [self._rgb(p) for p in bgs]
            self.unknown = [np.nonzero((a > 0) & (a < 255)) for a in self.alpha_img]

    @staticmethod
    def _rgb(path):
        return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def _window(self, rng, h, w):
        c = rng.choice(self.c.crop_choices) / rng.uniform(*self.c.scale_range)
        return int(np.clip(round(c), 1, min(h, w)))

    def _resize(self, img, win):
        return cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA if win > SIZE else cv2.INTER_LINEAR)

    def __getitem__(self, k: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(k)
        i, j = rng.integers(len(self.fgs)), rng.integers(len(self.bgs))
        if self.in_ram:
            fg, alpha, bg = self.fg_img[i], self.alpha_img[i], self.bg_img[j]
            ys, xs = self.unknown[i]
        else:
            fg, bg = self._rgb(self.fgs[i]), self._rgb(self.bgs[j])
            alpha = cv2.imread(self.alphas[i], cv2.IMREAD_GRAYSCALE)
            ys, xs = np.nonzero((alpha > 0) & (alpha < 255))
        h, w = alpha.shape
        win = self._window(rng, h, w)
        n = rng.integers(len(ys)) if len(ys) else None
        y, x = (ys[n], xs[n]) if n is not None else (rng.integers(h), rng.integers(w))
        top, left = int(np.clip(y - win // 2, 0, h - win)), int(np.clip(x - win // 2, 0, w - win))
        fg = self._resize(fg[top : top + win, left : left + win], win).astype(np.float32) / 255
        a = self._resize(alpha[top : top + win, left : left + win], win).astype(np.float32)[..., None] / 255
        bh, bw = bg.shape[:2]
        bwin = self._window(rng, bh, bw)
        by, bx = rng.integers(bh - bwin + 1), rng.integers(bw - bwin + 1)
        bg = self._resize(bg[by : by + bwin, bx : bx + bwin], bwin).astype(np.float32) / 255
        if rng.random() < 0.5:
            fg, a = fg[:, ::-1], a[:, ::-1]
        if rng.random() < 0.5:
            bg = bg[:, ::-1]
        t = random_trimap(a, rng, self.c.trimap_kernel_range)  # cv2 erode/dilate with two random kernels
        trimap = np.where(t == FG, 1.0, np.where(t == UNKNOWN, 0.5, 0.0)).astype(np.float32)[..., None]
        image = a * fg + (1 - a) * bg
        return {"image": image, "trimap": trimap, "alpha": a, "fg": fg, "bg": bg}


def _baseline_worker(args):
    fgs, alphas, bgs, config, in_ram, start, count = args
    cv2.setNumThreads(1)  # one core per worker, as in a DataLoader worker
    loader = OpenCVLoader(fgs, alphas, bgs, config, in_ram)
    t = time.perf_counter()  # after the up-front decode, which tf.data also does before its clock starts
    for k in range(start, start + count):
        loader[k]
    return time.perf_counter() - t


def run_baseline(fgs, alphas, bgs, config, workers: int, samples: int, in_ram: bool = False) -> float:
    per = samples // workers
    jobs = [(fgs, alphas, bgs, config, in_ram, w * per, per) for w in range(workers)]
    _baseline_worker((fgs, alphas, bgs, config, False, 10_000, 4))  # warm-up (imports, page cache)
    if workers == 1:
        seconds = _baseline_worker(jobs[0])
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            seconds = max(pool.map(_baseline_worker, jobs))  # workers run side by side
    return per * workers / seconds


# ---- tf.data pipeline -------------------------------------------------------------------------------------
def run_tfdata(pools, config, threads: int, seconds: float, batch: int = 8, in_ram: bool = True) -> float:
    from alphagan_jax.data import make_train_iterator

    config = config.copy_and_resolve_references()
    config.decoded_cache_mb = config.decoded_cache_mb if in_ram else 0
    config.threads = threads
    config.num_parallel_calls = threads
    it = make_train_iterator(config, global_batch_size=batch, seed=0, pools=pools, process_index=0, process_count=1)
    for _ in range(3):  # warm-up: graph build, first reads
        next(it)
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < seconds:
        next(it)
        n += batch
    return n / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results.json"))
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per tf.data setting")
    parser.add_argument("--baseline-samples", type=int, default=200)
    args = parser.parse_args(argv)

    fgs, alphas, bgs = bench_files(args.data)
    config = get_data_config()
    config.crop_size = SIZE
    pools = TrainPools(fg=Pool(paths=tuple(fgs)), alpha=Pool(paths=tuple(alphas)), bg=Pool(paths=tuple(bgs)))

    results = {
        "crop_size": SIZE,
        "fg_files": len(fgs),
        "bg_files": len(bgs),
        "samples_per_s": {},
    }
    rows = []
    for threads in (1, 2):
        r = {
            "tf_data_files": run_tfdata(pools, config, threads, args.seconds, in_ram=False),
            "tf_data_ram": run_tfdata(pools, config, threads, args.seconds, in_ram=True),
            "opencv_files": run_baseline(fgs, alphas, bgs, config, threads, args.baseline_samples),
            "opencv_ram": run_baseline(fgs, alphas, bgs, config, threads, args.baseline_samples, in_ram=True),
        }
        # The headline: the pipeline as shipped (decoded pools) vs a per-sample file loader.
        r["ratio_shipped_vs_opencv_files"] = r["tf_data_ram"] / r["opencv_files"]
        r["ratio_files_vs_files"] = r["tf_data_files"] / r["opencv_files"]
        r["ratio_ram_vs_ram"] = r["tf_data_ram"] / r["opencv_ram"]
        results["samples_per_s"][f"{threads}_threads"] = r
        rows.append((threads, r))
    write_json(args.out, results)
    print("samples/s at 320x320 (decode = every sample reads its files; RAM = pools decoded once)")
    print(
        f"{'threads':>7} | {'tf decode':>9} | {'tf RAM':>7} | {'cv decode':>9} | {'cv RAM':>7} |"
        " shipped/cv decode | decode/decode | RAM/RAM"
    )
    for threads, r in rows:
        print(
            f"{threads:>7} | {r['tf_data_files']:>9.1f} | {r['tf_data_ram']:>7.1f} | {r['opencv_files']:>9.1f} |"
            f" {r['opencv_ram']:>7.1f} | {r['ratio_shipped_vs_opencv_files']:>17.2f} |"
            f" {r['ratio_files_vs_files']:>13.2f} | {r['ratio_ram_vs_ram']:>7.2f}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
