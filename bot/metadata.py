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

__all__ = ["IIPROP", "THUMBNAILS_PER_REQUEST", "batch_size", "file_versions", "video_derivatives", "Derivative",
           "version_from_imageinfo", "chunks", "file_histories", "version_at", "version_by_sha1",
           "is_non_visual", "thumbnail_renders_file", "is_animated", "with_metadata"]

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
    """One API query; follows ``continue`` (imageinfo of many titles can be split) and merges pages.

    Hand-written rather than pywikibot's ``PropertyGenerator``: that generator drops every
    answer without a title ("Skipping result without title"), and a ``pageids=`` lookup of a
    deleted file answers exactly so (``{"pageid": N, "missing": true}``); it also keeps no
    ``redirects`` map, which is how a moved file is found.
    """
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
            # a page id that names no page comes back without a title
            merged = pages.setdefault(page.get("title") or f"#{page.get('pageid')}", {})
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


#: media types with nothing to look at: their ``thumburl`` is a file-type icon
NON_VISUAL_MEDIA_TYPES = frozenset({"audio"})
#: formats that may hold more than one frame; only their metadata says whether this file does
ANIMATABLE_MIMES = frozenset({"image/gif", "image/png", "image/apng", "image/webp"})


def is_non_visual(media_type: str | None, mime: str | None) -> bool:
    """Audio and MIDI (MediaWiki's ``AUDIO`` media type, or an ``audio/*`` mime): no pixels."""
    return (media_type or "").lower() in NON_VISUAL_MEDIA_TYPES or (mime or "").startswith("audio/")


def thumbnail_renders_file(info: dict, title: str) -> bool:
    """Whether ``thumburl`` is a rendering of this file (version), not a file-type icon.

    MediaWiki puts a rendering under the file's own thumbnail path
    (``.../thumb/a/ab/Name.ext/250px-Name.ext``, ``.../thumb/archive/...!Name.ext/...``
    for an old version) or answers with the original itself when it is small
    enough; a file it cannot render gets an icon from ``/resources/assets/`` or
    ``/static/`` that names no file.
    """
    thumb, url = info.get("thumburl"), info.get("url")
    if not thumb:
        return False
    if thumb == url:
        return True
    from urllib.parse import quote, unquote

    path = unquote(thumb.split("?")[0])
    name = title.split(":", 1)[-1].replace(" ", "_")
    return "/thumb/" in path and (f"/{name}/" in path or f"!{name}/" in path
                                  or f"/{quote(name)}/" in thumb)


def is_animated(info: dict) -> bool:
    """The file's metadata says it has more than one frame (GIF/APNG ``frameCount``,
    WebP ``animated``). Needs ``iiprop=metadata``; no metadata means not known animated."""
    for item in info.get("metadata") or ():
        name, value = item.get("name"), item.get("value")
        if name == "frameCount" and isinstance(value, (int, float)) and value > 1:
            return True
        if name == "animated" and value is True:
            return True
    return False


def version_from_imageinfo(page: dict, *, source: str | None = None,
                           log_id: int | None = None, info: dict | None = None) -> FileVersionIn | None:
    """One version of a file page from an ``imageinfo`` (or ``videoinfo``) answer: ``info``,
    or the current one; None for a missing, deleted or invalid page (nothing to score).

    ``thumb_url`` is kept only when it is a rendering of the file as viewers see it:
    a file-type icon, or a static thumbnail of a file whose metadata says it is
    animated, leaves it None, so the original is fetched (within the caps) and
    sampled locally.
    """
    if page.get("missing") or page.get("invalid") or "pageid" not in page:
        return None
    if info is None:
        infos = page.get("imageinfo") or page.get("videoinfo")
        if not infos:
            return None
        info = infos[0]
    if info.get("filehidden") or "sha1" not in info:
        return None  # a revision-deleted version: its content is not ours to see
    media_type = (info.get("mediatype") or "").lower() or None
    thumb = info.get("thumburl")
    if media_type != "video" and (not thumbnail_renders_file(info, page["title"])
                                  or (is_animated(info) and thumb != info.get("url"))):
        thumb = None
    return FileVersionIn(
        page_id=int(page["pageid"]), title=page["title"], sha1=info["sha1"],
        mime=info.get("mime"), media_type=media_type,
        size=info.get("size"), width=info.get("width") or None, height=info.get("height") or None,
        duration=info.get("duration"), uploader=None if info.get("userhidden") else info.get("user"),
        uploaded_at=_timestamp(info.get("timestamp")), url=info.get("url"),
        thumb_url=thumb, source=source, log_id=log_id,
        # stored at ingest for the reports' by-category breakdown (present when asked for)
        categories=tuple(c["title"].split(":", 1)[-1] for c in page.get("categories", ())))


def with_metadata(site, pages_by_title: dict[str, dict], **params) -> None:
    """:func:`_with_metadata` for pages from another query (a category walk)."""
    _with_metadata(site, {"pages": pages_by_title}, ids_key="pageids", **params)


def _with_metadata(site, answer: dict, *, ids_key: str, **params) -> None:
    """Add ``metadata`` to the imageinfo of files whose format can animate (a second, small
    query: the metadata of every photo would be large) so :func:`is_animated` can decide."""
    pages = [p for p in answer["pages"].values()
             if any((i.get("mime") or "") in ANIMATABLE_MIMES for i in p.get("imageinfo") or ())]
    if not pages:
        return
    extra = _query(site, prop="imageinfo", iiprop="timestamp|metadata", iimetadataversion="latest",
                   **{ids_key: "|".join(str(p["pageid"]) for p in pages)}, **params)
    for page in pages:
        more = {i.get("timestamp"): i.get("metadata")
                for i in extra["pages"].get(page["title"], {}).get("imageinfo") or ()}
        for info in page.get("imageinfo") or ():
            info["metadata"] = more.get(info.get("timestamp"))


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
        # categories ride along in the same query (no extra request): reports break down by them
        answer = _query(site, prop="imageinfo|categories", titles="|".join(batch), iiprop=IIPROP,
                        iiurlwidth=str(thumb_width), redirects="1", cllimit="max")
        _with_metadata(site, answer, ids_key="pageids")
        for title in batch:
            page = answer["pages"].get(_resolve(title, answer["aliases"]))
            out[title] = None if page is None else version_from_imageinfo(
                page, source=source, log_id=log_ids.get(title))
    return out


def file_histories(site, page_ids: Iterable[int], *, thumb_width: int,
                   since: datetime | None = None) -> dict[int, dict]:
    """Every version of these file pages (``iilimit=max``: current and archived, each with
    its own URL, archive name and thumbnail), newest first, back to ``since``.

    Asked by page id, which a move (with or without a redirect) keeps. One query per
    batch of pages (the API continues within it).
    :return: page id -> the page (``title``, ``pageid``, ``imageinfo``), or ``{"missing": True}``
    """
    page_ids = list(dict.fromkeys(int(p) for p in page_ids))
    out: dict[int, dict] = {}
    history = {"iiend": since.strftime("%Y-%m-%dT%H:%M:%SZ")} if since else {}
    for batch in chunks(page_ids, batch_size(site)):
        ids = "|".join(map(str, batch))
        answer = _query(site, prop="imageinfo", pageids=ids, iiprop=IIPROP + "|archivename",
                        iilimit="max", iiurlwidth=str(thumb_width), **history)
        _with_metadata(site, answer, ids_key="pageids", iilimit="max", **history)
        by_id = {p.get("pageid"): p for p in answer["pages"].values() if "pageid" in p}
        for page_id in batch:
            out[page_id] = by_id.get(page_id) or {"missing": True}
    return out


def version_at(page: dict, timestamp: datetime | None, *, source: str | None = None,
               log_id: int | None = None) -> FileVersionIn | None:
    """The version a log entry names by its timestamp (upload log ``img_timestamp``):
    the history row with that timestamp, else the newest one not after it. None when the
    page or that version is gone (deleted, revision-deleted)."""
    infos = page.get("imageinfo") or []
    if timestamp is None:
        chosen = infos[0] if infos else None
    else:
        older = [i for i in infos if (_timestamp(i.get("timestamp")) or timestamp) <= timestamp]
        exact = [i for i in older if _timestamp(i.get("timestamp")) == timestamp]
        chosen = (exact or older or [None])[0]
    if chosen is None:
        return None
    return version_from_imageinfo(page, source=source, log_id=log_id, info=chosen)


def version_by_sha1(page: dict, sha1: str) -> FileVersionIn | None:
    """Where a stored version (one sha1) is served now: the current URL if it is current,
    its archive URL if it was overwritten; None if it is gone."""
    for info in page.get("imageinfo") or ():
        if info.get("sha1") == sha1:
            return version_from_imageinfo(page, info=info)
    return None


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
