"""Where a stored version is served *now*: resolved by page id right before it is downloaded.

URLs captured at ingest go stale: a move changes the file's URL, an overwrite
moves the version to an ``archive/`` URL (and puts other pixels at the old
URL), a deletion removes it. So each claimed batch is looked up again by page
id (one ``prop=imageinfo&iilimit=max`` query per batch, which a move does not
break) and each version is found in the history by its sha1:

* found: its URL and thumbnail as served now (current or archived), so the
  pixels are always those of the stored sha1;
* page missing: the file was deleted (:data:`FILE_GONE`);
* page present, sha1 absent: that version was deleted or revision-deleted
  (:data:`VERSION_GONE`).

A failed lookup keeps the stored URLs (the download then says what happened).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Iterable

from .metadata import file_histories, version_by_sha1

__all__ = ["Locator", "FILE_GONE", "VERSION_GONE"]

log = logging.getLogger(__name__)

FILE_GONE = "file-deleted"
VERSION_GONE = "version-deleted"


class Locator:
    """Fresh locations for :class:`storage.records.PendingVersion` items (thread-unsafe: call
    it from the thread that claims)."""

    def __init__(self, site, *, thumb_width: int) -> None:
        self.site = site
        self.thumb_width = thumb_width

    def locate(self, versions: Iterable) -> dict[int, object]:
        """version id -> the version with fresh ``url``/``thumb_url``/``title``, or
        :data:`FILE_GONE` / :data:`VERSION_GONE`. Versions the wiki could not be asked
        about are returned unchanged."""
        versions = list(versions)
        if self.site is None or not versions:
            return {v.version_id: v for v in versions}
        try:
            pages = file_histories(self.site, [v.page_id for v in versions], thumb_width=self.thumb_width)
        except Exception as e:  # the stored URLs are the fallback; never lose the batch
            log.warning("imageinfo lookup by page id failed, using stored URLs: %s", e)
            return {v.version_id: v for v in versions}
        out: dict[int, object] = {}
        for v in versions:
            page = pages.get(v.page_id) or {"missing": True}
            if page.get("missing") or "pageid" not in page:
                out[v.version_id] = FILE_GONE
                continue
            now = version_by_sha1(page, v.sha1)
            if now is None:
                out[v.version_id] = VERSION_GONE
                continue
            out[v.version_id] = dataclasses.replace(v, title=now.title, url=now.url, thumb_url=now.thumb_url,
                                                    mime=now.mime or v.mime,
                                                    media_type=now.media_type or v.media_type)
        return out
