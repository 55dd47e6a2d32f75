"""File metadata in batches: one ``prop=imageinfo`` query per 50 titles.

50 even with ``apihighlimits``: MediaWiki builds at most 50 thumbnail URLs per
request (``iiurlwidth``), so a bigger batch only comes back in continuations.
Lookups without thumbnails (``videoinfo``) take 500 titles with ``apihighlimits``.

Never one request per file: ``FilePage.get_file_url(url_width=...)`` costs a
request each, and ``PreloadingGenerator`` does not carry imageinfo. The API
rounds ``iiurlwidth`` up to a standard thumbnail step and returns the
``thumburl`` to use; other widths fetched from the media host get HTTP 429.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Sequence

from storage.records import FileVersionIn

__all__ = ["IIPROP", "batch_size", "file_versions", "video_derivatives", "Derivative",
           "version_from_imageinfo", "chunks"]

IIPROP = "timestamp|user|url|size|mime|mediatype|sha1"

#: MediaWiki's ApiQueryImageInfo transforms (builds thumbnail URLs for) at most this many files a request
THUMBNAILS_PER_REQUEST = 50


def batch_size(site) -> int:
    """Titles per query: 500 for accounts with ``apihighlimits`` (bots), else 50."""
    try:
        return 500 if site.has_right("apihighlimits") else 50
    except Exception:  # an anonymous or not yet logged-in site
        return 50


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _query(site, **params) -> dict:
    """One API query; follows ``continue`` (imageinfo of many titles can be split) and merges pages."""
    params = {"action": "query", "formatversion": "2", **params}
    pages: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    cont: dict = {}
    while True:
        data = site.simple_request(**params, **cont).submit()
        query = data.get("query", {})
        for key in ("normalized", "redirects"):
            for item in query.get(key, []):
                aliases[item["from"]] = item["to"]
        for page in query.get("pages", []):
            merged = pages.setdefault(page["title"], {})
            for k, v in page.items():
                if isinstance(v, list) and isinstance(merged.get(k), list):
                    merged[k] = merged[k] + v
                else:
                    merged[k] = v
        if "continue" not in data:
            return {"pages": pages, "aliases": aliases}
        cont = data["continue"]


def _resolve(title: str, aliases: dict[str, str]) -> str:
    seen = set()
    while title in aliases and title not in seen:
        seen.add(title)
        title = aliases[title]
    return title


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def version_from_imageinfo(page: dict, *, source: str | None = None,
                           log_id: int | None = None) -> FileVersionIn | None:
    """The current version of a file page from an ``imageinfo`` (or ``videoinfo``) answer;
    None for a missing, deleted or invalid page (nothing to score)."""
    if page.get("missing") or page.get("invalid") or "pageid" not in page:
        return None
    infos = page.get("imageinfo") or page.get("videoinfo")
    if not infos:
        return None
    info = infos[0]
    if info.get("filehidden") or "sha1" not in info:
        return None  # a revision-deleted version: its content is not ours to see
    return FileVersionIn(
        page_id=int(page["pageid"]), title=page["title"], sha1=info["sha1"],
        mime=info.get("mime"), media_type=(info.get("mediatype") or "").lower() or None,
        size=info.get("size"), width=info.get("width") or None, height=info.get("height") or None,
        duration=info.get("duration"), uploader=info.get("user"),
        uploaded_at=_timestamp(info.get("timestamp")), url=info.get("url"),
        thumb_url=info.get("thumburl"), source=source, log_id=log_id)


def file_versions(site, titles: Iterable[str], *, thumb_width: int, source: str | None = None,
                  log_ids: dict[str, int] | None = None) -> dict[str, FileVersionIn | None]:
    """The current version of every title, one query per batch.

    :param titles: file titles (``File:`` prefix included)
    :param thumb_width: asked as ``iiurlwidth``; the API answers with the next standard step
    :param log_ids: upload-log id per title, recorded with the version
    :return: title as given -> version, or None when the file is missing or deleted
    """
    titles = list(dict.fromkeys(titles))
    log_ids = log_ids or {}
    out: dict[str, FileVersionIn | None] = {}
    for batch in chunks(titles, THUMBNAILS_PER_REQUEST):  # iiurlwidth: thumbnails wanted
        # redirects: a file moved since its upload is found under its new title
        answer = _query(site, prop="imageinfo", titles="|".join(batch), iiprop=IIPROP,
                        iiurlwidth=str(thumb_width), redirects="1")
        for title in batch:
            page = answer["pages"].get(_resolve(title, answer["aliases"]))
            out[title] = None if page is None else version_from_imageinfo(
                page, source=source, log_id=log_ids.get(title))
    return out


@dataclass(frozen=True)
class Derivative:
    """A ready transcode of a video (TimedMediaHandler's ``videoinfo`` ``derivatives``)."""

    url: str
    mime: str | None
    width: int | None
    height: int | None
    transcode_key: str | None

    @property
    def pixels(self) -> int:
        return (self.width or 1 << 20) * (self.height or 1 << 20)


def video_derivatives(site, titles: Iterable[str]) -> dict[str, list[Derivative]]:
    """Ready transcodes per title (smallest first), batched; {} when the wiki has no TimedMediaHandler.

    Only WebM transcodes are kept: that is what PyAV decodes everywhere, and
    ``240p.vp9.webm`` is what Commons makes for every video. The original
    (``transcodekey`` absent) is left out: it is the download of last resort.
    """
    titles = list(dict.fromkeys(titles))
    if not titles or not _has_timed_media(site):
        return {}
    out: dict[str, list[Derivative]] = {}
    for batch in chunks(titles, batch_size(site)):
        answer = _query(site, prop="videoinfo", titles="|".join(batch),
                        viprop="derivatives|url|size|mime")
        for title in batch:
            page = answer["pages"].get(_resolve(title, answer["aliases"])) or {}
            infos = page.get("videoinfo") or [{}]
            ready = [Derivative(url=d["src"], mime=(d.get("type") or "").split(";")[0] or None,
                                width=d.get("width"), height=d.get("height"),
                                transcode_key=d.get("transcodekey"))
                     for d in infos[0].get("derivatives", [])
                     if d.get("transcodekey") and "webm" in (d.get("type") or d["src"])]
            out[title] = sorted(ready, key=lambda d: d.pixels)
    return out


def _has_timed_media(site) -> bool:
    try:
        return bool(site.has_extension("TimedMediaHandler"))
    except Exception:
        return False
