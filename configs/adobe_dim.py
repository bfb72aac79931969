"""Adobe Deep Image Matting with MS-COCO backgrounds, sized for a GPU or TPU host (or pod).

Set `--config.data.path` to the folder holding `Combined_Dataset/` (see alphagan_jax/data for the
manual-download instructions) and `--config.model.pretrained` to converted ImageNet weights.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.source = "adobe_dim"
    config.data.bg_path = "coco/2017"
    config.data.val_source = "composition1k"
    config.data.val_num = 50
    # The 431 training foregrounds are about 4 GB decoded; GPU/TPU hosts have the RAM to hold them all.
    config.data.decoded_cache_mb = 8192
    config.train.batch_size = 32
    config.train.num_steps = 200_000
    config.model.dtype = "bfloat16"
    return config
