"""The bot's own settings: documented defaults < ``bot.toml`` < on-wiki config < command line.

Everything about the wiki and the account (site, user name, BotPassword or
OAuth) is pywikibot's business and lives in its ``user-config.py`` /
``user-password.py``, found through ``PYWIKIBOT_DIR``. This module holds only
what the bot itself decides: model, thresholds, database, review page, limits.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .settings_validation import SettingsError, check_values

__all__ = ["Settings", "load_settings", "ONWIKI_KEYS"]


def _default_data_dir() -> Path:
    return Path(os.environ.get("NSFWBOT_DATA_DIR")
                or platformdirs.user_data_dir("commons-nsfw-bot"))


@dataclass
class Settings:
    # --- where state lives -------------------------------------------------
    #: directory for the SQLite database, the run lock, downloads and caches
    data_dir: Path = field(default_factory=_default_data_dir)
    #: SQLAlchemy URL; None means SQLite at ``data_dir/bot.sqlite3``.
    #: ``postgresql+psycopg://...`` or ``mysql+pymysql://...`` for shared work.
    database_url: str | None = None

    # --- classifier ---------------------------------------------------------
    #: a timm model name, an ``hf-hub:`` id, or a checkpoint path from ``classifiers train``
    model: str = "opennsfw_resnet50_1by2"
    #: ``auto`` | ``torch-cuda`` | ``torch-cpu`` | ``onnxruntime``
    runtime: str = "auto"
    batch_size: int = 32
    #: a file is flagged when its vote score reaches this (Yahoo: > 0.8 likely NSFW)
    threshold: float = 0.8
    #: ``majority`` (share ``quorum`` of sampled frames must pass) or ``any-k``
    vote_rule: str = "majority"
    quorum: float = 0.5
    vote_k: int = 1
    #: frames sampled from each video or animated image
    frames: int = 16

    # --- downloads ----------------------------------------------------------
    #: a standard Commons thumbnail step at least the model's decode size
    thumb_width: int = 330
    download_concurrency: int = 2
    download_timeout: float = 60.0
    #: a media host asking to wait longer than this (Retry-After) is left alone for the rest of the
    #: run: its files stay pending, uncharged, for the next run
    max_retry_after_seconds: float = 120.0
    max_image_bytes: int = 50 * 2**20
    max_video_bytes: int = 200 * 2**20
    #: a failed file is retried on later runs, with exponential backoff, up to this many attempts
    max_attempts: int = 5
    retry_backoff_seconds: int = 3600
    #: a video over ``max_video_bytes`` without a ready transcode waits (not a failure) this
    #: long after its upload, then is scored from the wiki's frame thumbnails instead
    transcode_wait_hours: float = 6.0
    #: frame thumbnails (``iiurlparam=seek=``) asked for one such video: each is a render on
    #: the wiki, so this is the per-video render budget
    video_seek_frames: int = 4

    # --- sources ------------------------------------------------------------
    #: the very first run looks this far back in the upload log
    lookback_hours: float = 24.0
    #: resuming re-reads this many seconds before the cursor (entries de-duplicated by logid)
    overlap_seconds: int = 120
    #: most uploads a single ``run`` ingests (None: no limit)
    max_files_per_run: int | None = None
    #: downloaded thumbnails of flagged files kept in ``data_dir/thumbs`` (oldest go first)
    keep_flagged_thumbs: int = 10_000
    #: ``run`` reaches the review page at most this long after it starts: scoring stops claiming
    #: then and the rest stays pending for the next run (a backlog never holds the page back)
    publish_within_seconds: float = 600.0

    # --- schedule (``python -m bot serve``) ----------------------------------
    poll_interval_seconds: int = 300
    publish_interval_seconds: int = 900
    harvest_interval_seconds: int = 900

    # --- review page --------------------------------------------------------
    review_page: str = "User:CommonsNsfwBot/Review"
    #: a user JSON page: MediaWiki lets only the bot account and interface admins edit it
    config_page: str = "User:CommonsNsfwBot/config.json"
    stop_page: str = "User:CommonsNsfwBot/Stop"
    #: entries on the live page; older ones move to ``<review_page>/Archive N``
    review_max_entries: int = 200
    #: reviewed entries leave the queue this long after their verdict
    reviewed_retention_hours: float = 72.0
    #: only verdicts by members of these groups are applied (never by the file's uploader).
    #: Commons reviewers: patrollers and admins. Not ``autopatrolled``: Commons gives it to
    #: trusted *uploaders*, who must not clear their own files.
    trusted_groups: tuple[str, ...] = ("patroller", "sysop")
    #: Commons bot norm: a declared, low edit rate
    max_edits_per_minute: float = 5.0
    #: categories never listed (with their subcategories as given) and uploaders who opted out
    excluded_categories: tuple[str, ...] = ()
    separate_categories: tuple[str, ...] = ()
    opt_out: tuple[str, ...] = ()

    # --- etiquette ----------------------------------------------------------
    #: appended to pywikibot's User-Agent (Wikimedia policy: name/version (contact))
    user_agent_description: str = "commons-nsfw-bot"
    #: no wiki writes: the review page goes to ``data_dir/simulate/``
    simulate: bool = False

    #: names of the settings given explicitly (constructor, ``bot.toml``, command line,
    #: :meth:`replace`): they win over the on-wiki page even when equal to the default
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    #: of those, the ones only ``bot.toml`` gave: the on-wiki page wins over them (defaults <
    #: bot.toml < page < command line), so only the rest pin a value (:attr:`pinned`)
    from_file: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def pinned(self) -> frozenset[str]:
        """Keys the on-wiki config page may not change: given explicitly, not only by bot.toml."""
        return self.explicit - self.from_file

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir) / 'bot.sqlite3'}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied; unknown keys are an error, None values are ignored."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise KeyError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        clean = {k: _coerce(self, k, v) for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **clean, explicit=self.explicit | set(clean))


_generated_init = Settings.__init__


def _tracking_init(self: Settings, **given: Any) -> None:
    # which keys a caller gave is known only here: values are never compared with defaults
    _generated_init(self, **given)
    self.explicit = frozenset(given["explicit"] if "explicit" in given else given)


Settings.__init__ = _tracking_init  # type: ignore[method-assign]


#: settings the on-wiki config page may change (never the database, model or account)
ONWIKI_KEYS = frozenset({
    "threshold", "vote_rule", "quorum", "vote_k", "review_max_entries",
    "reviewed_retention_hours", "excluded_categories", "separate_categories", "opt_out",
})


def _coerce(settings: Settings, key: str, value: Any) -> Any:
    current = getattr(settings, key)
    if isinstance(current, Path) or key == "data_dir":
        return Path(value).expanduser()
    if isinstance(current, tuple):
        return tuple(value)
    if isinstance(current, bool):
        return bool(value)
    if isinstance(current, float) and isinstance(value, int):
        return float(value)
    return value


def load_settings(path: str | os.PathLike | None = None, *, source: str = "command line",
                  **overrides: Any) -> Settings:
    """Defaults, then the TOML file (``path``, else ``$NSFWBOT_CONFIG``, else none), then ``overrides``.

    Every value is checked (type, range, choices) here, before any wiki or database work: a bad one
    raises :class:`~bot.settings_validation.SettingsError` naming ``path`` (or ``source`` for
    ``overrides``), the key, the value and what is allowed.
    """
    settings = Settings()
    known = {f.name for f in dataclasses.fields(Settings)} - {"explicit", "from_file"}
    path = path or os.environ.get("NSFWBOT_CONFIG")
    if path:
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(f"{path}: not valid TOML: {e}") from e
        except OSError as e:
            raise SettingsError(f"{path}: cannot read the settings file: {e.strerror or e}") from e
        check_values(values, source=str(path), known=known)
        settings = settings.replace(**values)
    else:
        values = {}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    check_values(overrides, source=source, known=known)
    settings = settings.replace(**overrides)
    return dataclasses.replace(settings, explicit=settings.explicit,
                               from_file=frozenset(values) - set(overrides))
