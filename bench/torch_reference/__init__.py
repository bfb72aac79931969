"""Plain-PyTorch twins of the Flax models, for weight-parity tests and the PyTorch peer benchmark.

Importing this package needs the optional torch extra; nothing in the JAX code path imports it.
"""
