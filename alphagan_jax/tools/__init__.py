"""Command-line tools, one small module each: ``python -m alphagan_jax.tools.NAME``.

The top layer: a tool may import anything of the package, and nothing imports a tool. The commands
documented under their older module paths (``python -m alphagan_jax.data.trimap``, ``.data.preview``,
``.data.foregrounds``, ``.data.composition1k``, ``alphagan_jax.weights``) hand over to these.
"""
