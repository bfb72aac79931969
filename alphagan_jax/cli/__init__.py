"""Every command's `main()`, one module each; the only way they are started is their console script
(``alphagan-predict``, ``alphagan-export``, ``alphagan-demo``, ``alphagan-launch``, ``alphagan-trimap``,
``alphagan-foregrounds``, ``alphagan-composition1k``, ``alphagan-preview``, ``alphagan-weights``: see
pyproject.toml) or, for `train` and `evaluate`, ``python train.py`` / ``python evaluate.py`` at the repository
root. Also the shared arguments (`model_args`) and quiet logging (`logs`).

The top layer: may import anything of the package; nothing imports it.
"""
