"""The matting page: ``alphagan-demo --model RUN`` serves a local web page (Gradio) to load a photo, make or
paint its trimap, look at the matte and download what ``alphagan_jax.predict`` would write.

Files: :mod:`.model` loads the predictor once, :mod:`.paint` turns the painted layer into a trimap and draws
the overlays, :mod:`.session` does one page request with predict's own code, :mod:`.app` lays out the page,
:mod:`.cli` is the command. Only :mod:`.app` and :mod:`.cli` import Gradio (the ``demo`` extra).
"""
