import sys

from alphagan_jax.demo.cli import main

sys.exit(main())
