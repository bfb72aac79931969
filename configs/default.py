"""The paper's settings: ResNet-50 at output stride 8, 320 crops, Adam 2e-4, loss weights 1/1/1.

Every other config imports this one and overrides fields, so every key that exists anywhere exists here
and a typo on the command line (``--config.trian.lr``) is an error rather than a silently new key.
"""

import ml_collections


def get_model_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    # Encoder: torchvision ResNet-50 v1.5 layout.
    m.stage_sizes = (3, 4, 6, 3)
    m.width = 64  # channels of the stem; stage i has width * 2**i * 4 output channels
    m.output_stride = 8  # 8 (paper), 16 (cheaper) or 32 (plain ResNet, parity tests)
    # ASPP (DeepLabv3) on the last encoder features.
    m.aspp_channels = 256
    m.aspp_rates = (6, 12, 18)
    # Decoder: channel counts of the paper's table are multiples of this base (32).
    m.decoder_base = 32
    # PatchGAN discriminator (pix2pix n_layers=3 gives a 70x70 receptive field).
    m.disc_width = 64
    m.disc_layers = 3
    # Compute dtype; params and BatchNorm statistics stay float32.
    m.dtype = "float32"
    # Directory written by `alphagan-weights` (ImageNet encoder init); '' = random init.
    m.pretrained = ""
    return m


def get_data_config() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.source = "synthetic"  # training source: synthetic | folder | adobe_dim
    # Where training composites are made: "tf" (tf.data on the host's CPUs) or "jax" (on the accelerator,
    # data/device_pipeline.py: needs no TensorFlow, pools decoded once into accelerator memory).
    d.pipeline = "tf"
    d.path = ""  # root of the source ('' with source=synthetic needs no files)
    d.bg_path = ""  # background folder or TFDS name ('coco/2017', 'voc/2012'); '' = the source's own
    d.tfds_data_dir = ""  # where TFDS keeps built datasets ('' = TFDS default)
    d.crop_size = 320  # side of the training samples after resizing the crop
    d.crop_choices = (320, 480, 640)  # crop sides (px, after random scaling) drawn uniformly per sample
    d.scale_range = (0.75, 1.5)  # uniform random scale applied before cropping
    d.trimap_kernel_range = (1, 30)  # inclusive range of the erosion/dilation square sides (px)
    d.flip = True  # random horizontal flips (fg and bg independently)
    # Probability that a sample's background is its foreground's own (folder source with Train/bg_own, as
    # written by `alphagan-foregrounds`): the sample is then the original photo.
    d.own_bg_prob = 0.0
    # Random colour changes (hue turns, relative saturation, relative gamma), drawn independently for the
    # foreground and the background of a new composite; (0, 0, 0) = none.
    d.color_jitter = (0.0, 0.0, 0.0)
    d.shuffle_buffer = 256  # only for streamed TFDS backgrounds; pools use stateless per-epoch permutations
    d.num_parallel_calls = -1  # parallel map calls; -1 = tf.data.AUTOTUNE
    d.threads = 0  # private tf.data thread pool size; 0 = TF default
    # Decode the fg/alpha pool (then the background folder) once into RAM when it fits in this many MB per
    # host, instead of decoding full-resolution files for every sample; 0 = always decode per sample.
    # With pipeline="jax" every pool must fit in it (in accelerator memory, padded to its largest image).
    d.decoded_cache_mb = 4096
    # Built-in synthetic set.
    d.synthetic_num_fg = 64  # procedural foregrounds in the pool
    d.synthetic_num_bg = 32  # procedural backgrounds (ignored when bg_path names a photo folder)
    d.synthetic_size = 512  # side of each procedural fg/bg
    # Held-out validation set used during training.
    d.val_source = "synthetic"  # synthetic | alphamatting | composition1k | folder
    d.val_path = ""  # root of the validation set ('' with synthetic = procedural backgrounds)
    d.val_num = 8  # validation samples (at most, for folder sources)
    d.val_names = ()  # folder sources: only these images (file stems), e.g. a fixed split; () = the first val_num
    d.val_size = 320  # side of the synthetic validation images
    return d


def get_train_config() -> ml_collections.ConfigDict:
    t = ml_collections.ConfigDict()
    t.batch_size = 16  # global, over all devices and hosts
    t.num_steps = 100_000
    t.lr = 2e-4
    t.lr_schedule = "constant"  # constant | cosine (linear warm-up, then cosine decay to lr * lr_end_factor)
    t.warmup_steps = 0  # cosine only
    t.lr_end_factor = 0.01  # cosine only
    t.b1 = 0.9
    t.b2 = 0.999
    t.w_alpha = 1.0
    t.w_comp = 1.0
    t.w_gan = 1.0
    # Multi-scale Laplacian loss on the alpha (losses.laplacian_loss); 0 = off, the paper's three losses only.
    # Its five levels are weighted 1, 2, 4, 8, 16, so at weight 1 it is several times the alpha loss.
    t.w_lap = 0.0
    # Keep an exponential moving average of G's variables with this decay (0 = none); validation, the best
    # checkpoint, evaluate.py and predict then use the average.
    t.ema_decay = 0.0
    t.gan_start_step = 0  # G's GAN term counts from this step on (D trains from the start)
    t.log_every = 50
    t.image_every = 1000
    t.ckpt_every = 2000
    t.keep = 3  # latest checkpoints kept, besides the best by validation SAD
    t.val_every = 2000
    t.distributed = False  # jax.distributed.initialize() for multi-host runs (or ALPHAGAN_DISTRIBUTED=1)
    return t


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.model = get_model_config()
    config.data = get_data_config()
    config.train = get_train_config()
    return config
