"""Evaluate a trained model: ``python evaluate.py --workdir RUN --data composition1k --data-path DIR --out OUT``.

The command lives in :mod:`alphagan_jax.cli.evaluate` (model mode, score mode, outputs, exit status);
this file is where the design card starts it.
"""

import sys

from alphagan_jax.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
