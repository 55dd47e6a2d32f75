"""``python -m classifiers COMMAND``: score files, evaluate models on judged files, fine-tune a model.

Commands are :class:`~classifiers.commandline.Command` data; each command's
function imports its heavy modules itself, so ``score`` on a cached ONNX
export never imports torch, and a command whose dependencies are missing
fails alone (exit 2) while the others work.
"""
from __future__ import annotations

from typing import Sequence

from .commandline import Command, run_commands
from .learning import evaluate, train
from .score_command import COMMAND as SCORE

__all__ = ["COMMANDS", "main"]

COMMANDS: list[Command] = [SCORE, evaluate.COMMAND, train.COMMAND]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 for ``--help``, 2 for a usage error)."""
    return run_commands(COMMANDS, argv, prog="python -m classifiers",
                        description="Score, evaluate and train NSFW image classifiers.")
