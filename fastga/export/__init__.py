"""Export fastga networks to other frameworks (imported lazily; optional dependencies)."""

__all__ = ["to_keras", "save_keras", "to_onnx"]


def __getattr__(name):
    if name == "to_onnx":
        from .onnx import to_onnx

        return to_onnx
    if name in __all__:
        from . import keras

        return getattr(keras, name)
    raise AttributeError(f"module 'fastga.export' has no attribute {name!r}")
