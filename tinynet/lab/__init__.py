"""Tools that run the engine: sweeps over rates and seeds, the learning-rate
range test, diagnostics of a model and gradient checks.

They use the engine's public surface (Sequential, fit, the callbacks); the
engine never imports them.
"""
