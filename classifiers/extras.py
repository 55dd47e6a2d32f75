"""Which optional extra of the package provides a module, and the one-line refusal when it is missing.

The base install (what a Toolforge job needs) has no torch, timm, ONNX export
or plotting; setup.cfg's ``[options.extras_require]`` is the source of
:data:`EXTRA_OF_MODULE`. Commands turn a :class:`MissingExtra` (or any
ModuleNotFoundError for a module listed here) into one line on stderr and exit 2.
"""
from __future__ import annotations

__all__ = ["PACKAGE", "EXTRA_OF_MODULE", "MissingExtra", "extra_for", "refusal"]

PACKAGE = "commons-nsfw-bot"

#: top-level module -> the extra that installs it (setup.cfg)
EXTRA_OF_MODULE = {
    "torch": "torch", "torchvision": "torch", "timm": "torch", "safetensors": "torch",
    "onnx": "torch", "onnxscript": "torch",
    "matplotlib": "train",
    "skimage": "demo",
    "sklearn": "test", "pytest": "test",
}


class MissingExtra(ModuleNotFoundError):
    """A feature needs an extra that is not installed; ``str(error)`` is the whole message (one line).

    :param feature: what was asked for, e.g. ``runtime torch-cpu``
    :param extra: the extra's name in setup.cfg, e.g. ``torch``
    :param hint: an alternative that works without the extra
    """

    def __init__(self, feature: str, extra: str, *, module: str | None = None, hint: str = "") -> None:
        self.feature, self.extra = feature, extra
        message = f"{feature} needs the '{extra}' extra: pip install '{PACKAGE}[{extra}]'"
        super().__init__(f"{message}{'; ' + hint if hint else ''}", name=module)


def extra_for(error: ModuleNotFoundError) -> str | None:
    """The extra that would provide the missing module, or None when it is not one of ours."""
    if isinstance(error, MissingExtra):
        return error.extra
    return EXTRA_OF_MODULE.get((error.name or "").split(".")[0])


def refusal(feature: str, error: ModuleNotFoundError) -> str:
    """One line for stderr: the :class:`MissingExtra` message, one naming the extra of the missing
    module, or ``unavailable (...)`` for a module no extra provides."""
    if isinstance(error, MissingExtra):
        return str(error)
    extra = extra_for(error)
    if extra is None:
        return f"unavailable ({error})"
    return str(MissingExtra(feature, extra, module=error.name))
