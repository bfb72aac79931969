"""From a photo and a trimap to outputs: the bucketed, compiled predictor (`predictor`), reading a job's
photo and trimap or mask (`inputs`), the outputs of one photo and their safe writing (`outputs`), the
Laplacian refinement with its Shared Matting cross-check (`refine`), foreground colours (`foreground_colours`),
new backgrounds (`background`), and the ONNX/StableHLO graphs (`exports/`).

Layer 4 (beside `evaluation`, which it does not import): may import `util`, `models`, `data`,
`distributed`. It never restores a checkpoint: that is `artifacts.loader`'s job, above training.
"""
