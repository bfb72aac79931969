"""Real mattes from real photos: the 20 alphamatting.com photos in ../shared/data, 15 to train, 5 held out.

Build the training set once (foreground and background colours estimated from each photo and its alpha;
the held-out photos are excluded), then train:

  alphagan-foregrounds --data ../shared/data/alphamatting --out data/am-train \\
      --exclude GT03,GT09,GT15,GT20,GT24
  python train.py --config configs/alphamatting.py --workdir runs/alphamatting

The split is fixed: every fourth photo in file-name order from the third (GT03, GT09, GT15, GT20, GT24) is
held out for validation and the final report (bench/quality.py); chosen by position, not by result. A
held-out photo never enters training: the trainer refuses a training foreground with a validation name.

What makes it learn real mattes (see docs/results.md for the ablation):
- crops at native scale (the test runs at full resolution) centred on the unknown region;
- training trimaps like the benchmark's: the unknown band reaches at most ~8 px (fine trimap) and ~15 px
  (coarse) beyond the transition region of these photos, so erosion/dilation squares of 7..33 px;
- the photos themselves as half the samples (data.own_bg_prob: the estimated foreground over its own
  estimated background) beside re-composites on the shared background photos;
- random colour changes (data.color_jitter), separate for a re-composite's foreground and background;
- a multi-scale Laplacian loss on the alpha beside the paper's three losses (train.w_lap);
- a cosine learning-rate schedule, the GAN term only after a warm-up of the alpha and composition losses,
  and a moving average of the weights (train.ema_decay) for validation and inference.

On the 2-core development CPU it took 73.5 minutes, validation included (2026-11-30; ~0.6 s per step).
Its held-out SAD was still falling at the end, slowly (docs/results.md): the budget is the limit. On a GPU
keep everything and scale the budget: configs/alphamatting_gpu.py (batch 32 with the learning rate by the
square-root rule, 256 px crops, a 2x wider network, 12000 steps, composites made on the accelerator) took
about 6 minutes on one H200 and brought the held-out SAD from 5.11 / 6.51 (fine / coarse) to 3.81 / 4.48.
"""

from configs import synthetic


def get_config():
    config = synthetic.get_config()  # the narrow ResNet-50-shaped network of the CPU main job

    d = config.data
    d.source = "folder"
    d.path = "data/am-train"
    d.bg_path = "../shared/data/backgrounds"
    d.crop_size = 128
    d.crop_choices = (128,)  # native scale: no crop-size zoom, only the mild random scale below
    d.scale_range = (0.8, 1.25)
    d.trimap_kernel_range = (7, 33)
    d.own_bg_prob = 0.5
    d.color_jitter = (0.15, 0.3, 0.3)
    d.val_source = "alphamatting"
    d.val_path = "../shared/data/alphamatting"
    d.val_names = ("GT03", "GT09", "GT15", "GT20", "GT24")

    t = config.train
    t.batch_size = 8
    t.num_steps = 7000
    t.lr = 1e-3
    t.lr_schedule = "cosine"
    t.warmup_steps = 200
    t.gan_start_step = 800
    t.w_gan = 0.1
    t.w_lap = 1.0
    t.ema_decay = 0.999
    t.log_every = 50
    t.image_every = 1000
    t.ckpt_every = 400
    t.val_every = 400
    return config
