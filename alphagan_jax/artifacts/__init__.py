"""What a trained model is outside its run: the model folder format (`model_folder`), its provenance
(`provenance`), and the one loader (`loader`) that takes a model folder or a training workdir and gives the
predictor that the API, predict, evaluate.py, export and the page all use.

Layer 6: may import everything below, training's checkpoints included; nothing of the API or commands.
"""
