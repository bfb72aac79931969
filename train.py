# Train AlphaGAN: python train.py --config configs/synthetic.py --workdir runs/synthetic
#
# The command lives in alphagan_jax/cli/train.py (flags, exit status, what a rerun does); this file is where
# the design card and every pod recipe start it. absl's --help prints the __main__ module's docstring and
# key flags, so this file takes the command's.
from absl import flags

from alphagan_jax.cli import train

__doc__ = train.__doc__
flags.adopt_module_key_flags(train)

if __name__ == "__main__":
    train.run()
