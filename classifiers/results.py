"""What scoring a file yields: one :class:`FileResult` per input, never an exception."""
from __future__ import annotations

from dataclasses import dataclass, field

from .signatures import FrameSignature

__all__ = ["FrameScore", "FileResult"]


@dataclass(frozen=True)
class FrameScore:
    """The score of one sampled frame.

    :param index: frame number in the file (0 for a still)
    :param time: seconds from the start, or None when unknown (stills)
    :param score: P(nsfw) in [0, 1]
    """

    index: int
    time: float | None
    score: float


@dataclass(frozen=True)
class FileResult:
    """The outcome for one file: a verdict with its frames, or an error.

    ``score`` and ``flagged`` agree by construction (see
    :mod:`classifiers.voting`): ``flagged == (score >= threshold)``.
    """

    key: str
    media_type: str | None = None  # "still" | "animated" | "video"
    score: float | None = None
    flagged: bool | None = None
    frames: tuple[FrameScore, ...] = ()
    flagged_share: float | None = None
    evidence: FrameScore | None = None
    error_kind: str | None = None
    error_message: str | None = None
    partial: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    #: one match signature per scored frame, in the order of ``frames`` (empty on errors)
    signatures: tuple[FrameSignature, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is a verdict (possibly from a partially decoded file)."""
        return self.flagged is not None

    @classmethod
    def failure(cls, key: str, kind: str, message: str, *,
                media_type: str | None = None,
                timings: dict[str, float] | None = None) -> FileResult:
        return cls(key=key, media_type=media_type, error_kind=kind,
                   error_message=message, timings=dict(timings or {}))
