"""Data sets built once, offline, from downloads: Composition-1k exactly as Adobe's script composes it
(`composition1k`, `composition1k_plan`, `adobe_composite`), a `folder`-layout training set from photos with
ground-truth alpha (`foregrounds`), and the Adobe DIM TFDS builder (`adobe_dim_tfds`).

Part of `data` (layer 2): may import `util`, `models` and the rest of `data`; their commands are in `cli`.
"""
