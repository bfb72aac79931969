"""The Deep Image Matting benchmark: the official SAD/MSE/Grad/Conn (`metrics`, each citing the MATLAB
lines it reproduces), the per-image loop with its worker pool (`loop`), and the rows, summaries and files
of a run (`results`).

Layer 4 (beside `inference`, which it does not import: it scores any ``(image, trimap) -> alpha``):
may import `util`, `models`, `data`, `distributed`.
"""
