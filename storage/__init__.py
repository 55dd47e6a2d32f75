"""The bot's memory: files, versions, scores, leases, review entries, verdicts, cursors, runs.

SQLite by default (one file in the data directory), PostgreSQL or MariaDB by
URL when several workers share the work. Never imports pywikibot or
classifiers; everything crossing this boundary is a plain record.

    store = storage.open_store(settings.database_url, data_dir=settings.data_dir)
    store.add_file_versions(versions, cursor=("uploadlog", {"timestamp": ..., "logid": ...}))
    for item in store.claim(model_id, worker="host:pid", limit=64):
        ...
        store.record_score(item.version_id, model_id, ScoreIn(...))
"""
from __future__ import annotations

from .errors import StorageError
from .records import (FINAL_REVIEW_STATES, NSFW_VERDICTS, SFW_VERDICTS, FileVersionIn,
                      FlaggedVersion, LabelledVersion, PendingVersion, ReviewEntryRecord,
                      RunRecord, ScoreIn, SignatureIn, VerdictIn, VerdictRecord)
from .status import StatusReport
from .store import Store, open_store, upgrade

__all__ = [
    "open_store", "upgrade", "Store", "StorageError", "StatusReport",
    "FileVersionIn", "PendingVersion", "ScoreIn", "SignatureIn", "FlaggedVersion", "ReviewEntryRecord",
    "VerdictIn", "VerdictRecord", "LabelledVersion", "RunRecord",
    "NSFW_VERDICTS", "SFW_VERDICTS", "FINAL_REVIEW_STATES",
]
