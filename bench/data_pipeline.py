"""Training-data throughput: the tf.data pipeline vs a plain Python/OpenCV per-sample loader.

Both read the same files each sample (fg + alpha + bg), crop around an unknown pixel after a random scale,
resize to 320, flip, composite in float32 and build a trimap with random kernels. The baseline is what a
PyTorch `Dataset.__getitem__` would do, run in 1 process or in 2 worker processes (DataLoader-style).

  python bench/data_pipeline.py --out results.json [--data ../shared/data] [--seconds 10]

Data: fg/alpha from alphamatting/ (the photo stands in for F), backgrounds from backgrounds/; with no
shared data, synthetic pools written to a temporary folder.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from alphagan_jax.data.io import list_images, write_png  # noqa: E402
from alphagan_jax.data.sources import Pool, TrainPools  # noqa: E402
from bench.common import write_json  # noqa: E402
from configs.default import get_data_config  # noqa: E402

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
    """A typical PyTorch-style Dataset: __getitem__(k) builds sample k with NumPy/OpenCV."""

    def __init__(self, fgs, alphas, bgs, config):
        self.fgs, self.alphas, self.bgs, self.c = fgs, alphas, bgs, config

    def _window(self, rng, h, w):
        c = rng.choice(self.c.crop_choices) / rng.uniform(*self.c.scale_range)
        return int(np.clip(round(c), 1, min(h, w)))

    def _resize(self, img, win):
        return cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA if win > SIZE else cv2.INTER_LINEAR)

    def __getitem__(self, k: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(k)
        i, j = rng.integers(len(self.fgs)), rng.integers(len(self.bgs))
        fg = cv2.cvtColor(cv2.imread(self.fgs[i], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        alpha = cv2.imread(self.alphas[i], cv2.IMREAD_GRAYSCALE)
        bg = cv2.cvtColor(cv2.imread(self.bgs[j], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = alpha.shape
        win = self._window(rng, h, w)
        ys, xs = np.nonzero((alpha > 0) & (alpha < 255))
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
        k_fg, k_unk = rng.integers(self.c.trimap_kernel_range[0], self.c.trimap_kernel_range[1] + 1, 2)
        solid = cv2.erode((a[..., 0] >= 1).astype(np.uint8), np.ones((k_fg, k_fg), np.uint8))
        unknown = cv2.dilate((a[..., 0] > 0).astype(np.uint8), np.ones((k_unk, k_unk), np.uint8))
        trimap = np.where(solid > 0, 1.0, np.where(unknown > 0, 0.5, 0.0)).astype(np.float32)[..., None]
        image = a * fg + (1 - a) * bg
        return {"image": image, "trimap": trimap, "alpha": a, "fg": fg, "bg": bg}


def _baseline_worker(args):
    fgs, alphas, bgs, config, start, count = args
    cv2.setNumThreads(1)  # one core per worker, as in a DataLoader worker
    loader = OpenCVLoader(fgs, alphas, bgs, config)
    t = time.perf_counter()
    for k in range(start, start + count):
        loader[k]
    return time.perf_counter() - t


def run_baseline(fgs, alphas, bgs, config, workers: int, samples: int) -> float:
    per = samples // workers
    jobs = [(fgs, alphas, bgs, config, w * per, per) for w in range(workers)]
    _baseline_worker((fgs, alphas, bgs, config, 10_000, 4))  # warm-up (imports, page cache)
    t = time.perf_counter()
    if workers == 1:
        _baseline_worker(jobs[0])
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            pool.map(_baseline_worker, jobs)
    return per * workers / (time.perf_counter() - t)


# ---- tf.data pipeline -------------------------------------------------------------------------------------
def run_tfdata(pools, config, threads: int, seconds: float, batch: int = 8) -> float:
    from alphagan_jax.data import make_train_iterator

    config.threads = threads
    config.num_parallel_calls = threads
    it = make_train_iterator(
        config, global_batch_size=batch, seed=0, pools=pools, process_index=0, process_count=1
    )
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
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "samples_per_s": {},
    }
    rows = []
    for threads in (1, 2):
        base = run_baseline(fgs, alphas, bgs, config, threads, args.baseline_samples)
        tfd = run_tfdata(pools, config, threads, args.seconds)
        results["samples_per_s"][f"{threads}_threads"] = {
            "tf_data": tfd,
            "opencv_baseline": base,
            "ratio": tfd / base,
        }
        rows.append((threads, tfd, base, tfd / base))
    write_json(args.out, results)
    print(f"{'threads':>7} | {'tf.data /s':>10} | {'OpenCV /s':>10} | ratio")
    for threads, tfd, base, ratio in rows:
        print(f"{threads:>7} | {tfd:>10.1f} | {base:>10.1f} | {ratio:.2f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
