"""Training: the loop (`trainer`), the pure jitted step and its sharding (`step`), the GAN state, EMA and
schedule (`state`), the losses (`losses`), Orbax checkpoints (`checkpoint`) and the recovery from an
unreadable one (`recovery`), the TensorBoard/jsonl run log (`run_log`), and ImageNet weights converted from
torchvision (`pretrained`).

Layer 5: may import everything below (`util`, `models`, `data`, `distributed`, `inference`, `evaluation`:
validation runs the predictor and the metrics); nothing of `artifacts`, the API or the commands.
"""
