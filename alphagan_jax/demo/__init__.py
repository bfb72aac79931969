"""The matting page: ``alphagan-demo --model RUN`` serves a local web page (Gradio) to load a photo, make or
paint its trimap, look at the matte and download what ``alphagan-predict`` would write.

Files: :mod:`.paint` turns the painted layer into a trimap and draws the overlays, :mod:`.session` does one
page request with predict's own code (`inference.outputs`), :mod:`.app` lays out the page; the command is
`alphagan_jax.cli.demo`. Only :mod:`.app` imports Gradio (the ``demo`` extra).

Layer 8, below `cli`: may import the API, `artifacts` and everything under them.
"""
