"""The thumbnails the bot keeps of flagged files: the evaluation and training set, and
what a shadow-mode candidate scores (never downloaded twice)."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ThumbnailKeeper"]


class ThumbnailKeeper:
    """Keeps the downloaded thumbnails of flagged files in ``directory`` for evaluation and training;
    the oldest go when there are more than ``max_files``."""

    def __init__(self, directory: str | os.PathLike, *, max_files: int = 10_000) -> None:
        self.dir = Path(directory)
        self.max_files = max_files
        self._count: int | None = None

    def keep(self, version, data: bytes) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._count is None:
            self._count = sum(1 for _ in os.scandir(self.dir))
        suffix = Path(version.thumb_url or version.url or "").suffix[:6] or ".bin"
        path = self.dir / f"{version.version_id}-{version.sha1[:12]}{suffix}"
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            self._count += 1
        if self._count > self.max_files:
            self._prune()
        return path

    def remove(self, version_ids) -> int:
        """Delete what was kept of these versions (their file was deleted or suppressed)."""
        if not self.dir.is_dir():
            return 0
        wanted = {str(v) for v in version_ids}
        removed = 0
        for entry in os.scandir(self.dir):
            if entry.name.split("-", 1)[0] in wanted:
                os.unlink(entry.path)
                removed += 1
        self._count = None
        return removed

    def _prune(self) -> None:
        entries = sorted(os.scandir(self.dir), key=lambda e: e.stat().st_mtime)
        for entry in entries[:max(0, len(entries) - int(self.max_files * 0.9))]:
            os.unlink(entry.path)
        self._count = sum(1 for _ in os.scandir(self.dir))
