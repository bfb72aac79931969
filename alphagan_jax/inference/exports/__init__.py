"""The generator outside this package: ONNX files (jax2onnx) and serialized StableHLO (jax.export).

Both take what a user has, uint8 RGB and a uint8 trimap, padded to the network's multiple of 32, and
return the clamped float32 matte (see docs/exports.md). `graph` builds that function, `onnx_export` and
`stablehlo_export` write it, `runners` pads, runs and crops photos through either file.
"""
