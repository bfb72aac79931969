"""ImageNet initialisation: torchvision ResNet-50 state dicts to the Flax encoder's variables.

    alphagan-weights --torchvision resnet50.pth --out weights/resnet50

reads a `.pth` (needs the optional torch extra) or a `.npz` of the same keys and writes the converted
`{'params', 'batch_stats'}` tree with Orbax; `config.model.pretrained` points training at that folder.

exit status: 0 written; 2 nothing written (missing or unreadable file, keys that do not match, --out
exists). Library log chatter is hidden; --verbose or ALPHAGAN_VERBOSE=1 shows it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alphagan_jax.cli import logs as cli_logging
from alphagan_jax.train import pretrained as weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torchvision", required=True, help="torchvision resnet50 state dict (.pth or .npz)")
    parser.add_argument("--out", required=True, help="output folder (the value for model.pretrained)")
    parser.add_argument("--verbose", action="store_true", help="show library logs (also ALPHAGAN_VERBOSE=1)")
    args = parser.parse_args(argv)
    cli_logging.setup(args.verbose)
    try:
        variables = weights.torchvision_resnet50_to_flax(weights.load_state_dict(args.torchvision))
        out = weights.save_encoder_variables(variables, args.out)
    except (OSError, ValueError, ImportError) as e:  # the message names the file or lists the bad keys
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}; train with --config.model.pretrained={args.out}")
    return 0
