"""The PyTorch peer of the adversarial training step, timed the way bench/train_step.py times the JAX one.

Same networks (`bench.torch_reference.alphagan`, equal parameter counts), same step as
`alphagan_jax/train/step.py`: G forward once; D update on the real composite and G's composite with G
detached; then G update on alpha + composition + non-saturating GAN losses through the updated D (whose
parameters take no gradient there). Adam on both. Variants: eager, and `torch.compile` on both networks.

  python -m bench.peer_torch --config default --size 320 --batch 8 --dtype float32 --stride 8 --out peer.json

`bench/train_step.py --peer` runs this file once per configuration, beside the JAX step.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from bench.common import (
    Budget,
    config_grid,
    format_table,
    model_config,
    parse_list,
    synthetic_batch,
    time_calls,
    write_json,
)
from bench.torch_reference.alphagan import (
    build_discriminator,
    build_generator,
    count_parameters,
    normalize_image,
)

EPS = 1e-6


def _masked_charbonnier(diff: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.expand_as(diff)
    return (torch.sqrt(diff * diff + EPS**2) * mask).sum() / mask.sum().clamp_min(1.0)


def _d_input(composite: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    return torch.cat([normalize_image(composite), trimap], dim=1)


class AdversarialStep:
    """One D update then one G update, as `alphagan_jax.train.step.train_step` does them."""

    def __init__(self, config: Any, device: torch.device, *, bf16: bool, channels_last: bool, compile: bool) -> None:
        self.device, self.bf16 = device, bf16
        self.g = build_generator(config.model).to(device)
        self.d = build_discriminator(config.model).to(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.g.to(memory_format=self.memory_format)
        self.d.to(memory_format=self.memory_format)
        # Both nets stay float32 (as Flax keeps params float32); bf16 means autocast compute, torch's analogue
        # of a Flax module with dtype=bfloat16.
        self.g_fwd = torch.compile(self.g) if compile else self.g
        self.d_fwd = torch.compile(self.d) if compile else self.d
        t = config.train
        # Fused Adam on CUDA is torch's fastest optimiser path (XLA fuses optax's Adam itself).
        kwargs = {"fused": True} if device.type == "cuda" else {}
        self.g_opt = torch.optim.Adam(self.g.parameters(), lr=t.lr, betas=(t.b1, t.b2), **kwargs)
        self.d_opt = torch.optim.Adam(self.d.parameters(), lr=t.lr, betas=(t.b1, t.b2), **kwargs)
        if t.get("w_lap", 0.0):
            # Timing a step without the Laplacian term against the JAX step with it would flatter PyTorch.
            raise ValueError(f"the PyTorch peer has the paper's three losses only; got train.w_lap={t.w_lap}")
        self.weights = (t.w_alpha, t.w_comp, t.w_gan)
        self.g.train()
        self.d.train()

    def to_device(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """NHWC NumPy -> NCHW tensors on the device, in the networks' memory format."""
        return {
            k: torch.from_numpy(v).permute(0, 3, 1, 2).to(self.device).contiguous(memory_format=self.memory_format)
            for k, v in batch.items()
        }

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def __call__(self, b: dict[str, torch.Tensor]) -> torch.Tensor:
        image, trimap, alpha_gt, fg, bg = b["image"], b["trimap"], b["alpha"], b["fg"], b["bg"]
        with self._autocast():
            alpha = self.g_fwd(image, trimap)
        fake = alpha * fg + (1 - alpha) * bg

        # D update: real composite vs G's composite with G detached.
        self.d.requires_grad_(True)
        self.d_opt.zero_grad(set_to_none=True)
        with self._autocast():
            real_logits = self.d_fwd(_d_input(image, trimap))
            fake_logits = self.d_fwd(_d_input(fake.detach(), trimap))
        d_loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_loss.backward()
        self.d_opt.step()

        # G update through the updated D; D's parameters take no gradient (the JAX step differentiates
        # with respect to alpha only).
        self.d.requires_grad_(False)
        self.g_opt.zero_grad(set_to_none=True)
        with self._autocast():
            logits = self.d_fwd(_d_input(fake, trimap))
        unknown = ((trimap > 0.25) & (trimap < 0.75)).float()
        l_alpha = _masked_charbonnier(alpha - alpha_gt, unknown)
        l_comp = _masked_charbonnier(fake - image, unknown)
        l_gan = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        w_alpha, w_comp, w_gan = self.weights
        g_loss = w_alpha * l_alpha + w_comp * l_comp + w_gan * l_gan
        g_loss.backward()
        self.g_opt.step()
        return g_loss.detach()


def _sync(device: torch.device) -> Any:
    if device.type == "cuda":
        return lambda _: torch.cuda.synchronize()
    return lambda _: None  # CPU ops are synchronous


def bench_config(
    config_name: str,
    size: int,
    batch: int,
    dtype: str,
    stride: int,
    *,
    compile: bool,
    warmup: int,
    steps: int,
    channels_last: bool = True,
) -> dict[str, Any]:
    """Time the torch step for one configuration; failures (e.g. torch.compile without a compiler) are
    recorded in the row's `error` instead of raised."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    row: dict[str, Any] = {
        "framework": "torch",
        "variant": "compile" if compile else "eager",
        "config": config_name,
        "size": size,
        "batch": batch,
        "dtype": dtype,
        "stride": stride,
        "device": str(device),
        "channels_last": channels_last,
    }
    try:
        config = model_config(config_name, stride, dtype)
        torch.manual_seed(0)
        step = AdversarialStep(config, device, bf16=dtype == "bfloat16", channels_last=channels_last, compile=compile)
        row["g_params"], row["d_params"] = count_parameters(step.g), count_parameters(step.d)
        data = step.to_device(synthetic_batch(batch, size))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        # The first call compiles (torch.compile) or warms the allocator and cuDNN's algorithm search.
        t = time_calls(lambda: step(data), _sync(device), warmup=warmup, steps=steps, time_first=True)
        row["first_step_s"] = t.pop("first_call_s")
        row.update(t)
        row["step_ms"] = 1e3 * t["median_s"]
        row["images_per_s"] = batch / t["median_s"]
        row["peak_bytes"] = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
    except Exception as e:  # noqa: BLE001 - a failing variant is a result, not a crash of the whole bench
        row["error"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    return row


def configure_threads(threads: int | None) -> int:
    """Use every core by default, as XLA's CPU client does, so the two frameworks get the same hardware."""
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="default", help="configs/<name>.py: default (ResNet-50) or test (tiny)")
    p.add_argument("--sizes", "--size", default="320")
    p.add_argument("--batches", "--batch", default="8")
    p.add_argument("--dtypes", "--dtype", default="float32", help="float32,bfloat16")
    p.add_argument("--strides", "--stride", default="8")
    p.add_argument("--variants", default="eager,compile")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="wall-clock budget: configurations that would start after it are skipped",
    )
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    threads = configure_threads(args.threads)
    # TF32 for float32 convs/matmuls, as XLA uses on Ampere+ GPUs by default (torch enables it for cuDNN
    # convs only).
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True

    budget = Budget(args.budget_s)
    rows: list[dict[str, Any]] = []

    def save() -> None:  # after every change: a run killed at its time limit keeps what finished
        if args.out:
            write_json(args.out, {"bench": "peer_torch", "threads": threads, "rows": rows})

    for size, batch, dtype, stride in config_grid(args.sizes, args.batches, args.dtypes, args.strides):
        for variant in parse_list(args.variants, str):
            key = {
                "framework": "torch",
                "variant": variant,
                "config": args.config,
                "size": size,
                "batch": batch,
                "dtype": dtype,
                "stride": stride,
            }
            if budget.left() <= 0:
                rows.append({**key, "error": Budget.SPENT})
            else:
                # Stays in the file if this process is killed before the row is done.
                rows.append({**key, "error": "not finished: killed at its time limit"})
                save()
                rows[-1] = bench_config(
                    args.config,
                    size,
                    batch,
                    dtype,
                    stride,
                    compile=variant == "compile",
                    warmup=args.warmup,
                    steps=args.steps,
                    channels_last=not args.no_channels_last,
                )
            save()
            print(format_table(rows[-1:], COLUMNS), flush=True)
    print(format_table(rows, COLUMNS))
    return 0


COLUMNS = (
    "variant",
    "config",
    "size",
    "batch",
    "dtype",
    "stride",
    "step_ms",
    "images_per_s",
    "first_step_s",
    "g_params",
    "d_params",
    "error",
)

if __name__ == "__main__":
    sys.exit(main())
