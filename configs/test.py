"""Tiny and fast, for tests: a one-block-per-stage, 8-wide ResNet on 64 px crops."""

from configs import default


def get_config():
    config = default.get_config()
    m = config.model
    m.stage_sizes = (1, 1, 1, 1)
    m.width = 8
    m.output_stride = 16
    m.aspp_channels = 16
    m.aspp_rates = (2, 4, 6)
    m.decoder_base = 8
    m.disc_width = 8

    d = config.data
    d.crop_size = 64
    d.crop_choices = (64, 96)
    d.synthetic_num_fg = 8
    d.synthetic_num_bg = 4
    d.synthetic_size = 128
    d.shuffle_buffer = 8
    d.val_num = 2
    d.val_size = 64

    t = config.train
    t.batch_size = 4
    t.num_steps = 4
    t.log_every = 1
    t.image_every = 2
    t.ckpt_every = 2
    t.val_every = 2
    t.keep = 2
    return config
