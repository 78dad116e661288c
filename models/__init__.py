"""The contract every role shares: preprocessing, model card, store, architectures.

Nothing here imports TensorFlow at module level: the worker imports this package.
"""
