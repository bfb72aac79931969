"""The README's main job: the built-in synthetic data on a CPU, something visible in ~10 minutes on
2 cores. A narrow ResNet-50-shaped network at stride 16 on 96 px crops."""

from configs import default


def get_config():
    config = default.get_config()
    m = config.model
    m.stage_sizes = (2, 2, 2, 2)
    m.width = 16
    m.output_stride = 16
    m.aspp_channels = 64
    m.aspp_rates = (3, 6, 9)
    m.decoder_base = 16
    m.disc_width = 16

    d = config.data
    d.crop_size = 96
    d.crop_choices = (96, 160, 224)
    d.synthetic_num_fg = 48
    d.synthetic_num_bg = 24
    d.synthetic_size = 320
    d.val_num = 8
    d.val_size = 192

    t = config.train
    t.batch_size = 8
    t.num_steps = 1500
    t.log_every = 25
    t.image_every = 250
    t.ckpt_every = 250
    t.val_every = 250
    return config
