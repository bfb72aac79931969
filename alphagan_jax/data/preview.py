"""``python -m alphagan_jax.data.preview``, the documented command for the training-sample grid, whose code
is :mod:`alphagan_jax.tools.preview` (kept here so the command keeps working)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from alphagan_jax.tools.preview import main

    sys.exit(main())
