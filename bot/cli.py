"""``python -m bot COMMAND``: pywikibot's global options first, then one keyword-only function per command.

Exit codes are :mod:`bot.exit_codes` (0 done, 1 some files failed, 2 usage,
3 locked, 4 database, 5 wiki unavailable, blocked or stopped).

Adding a command is one line: a :class:`~bot.commandline.Command` in
:data:`COMMANDS` here, or in the ``COMMANDS`` list of a command module
(``bot.review.commands``, ``bot.learning``) that :func:`all_commands` joins.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
from pathlib import Path
from typing import Sequence

from classifiers import commandline

from .commandline import Command, arg
from .config import Settings, load_settings
from .settings_validation import SettingsError
from .exit_codes import (EXIT_DATABASE, EXIT_DISK, EXIT_FAILURES, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, EXIT_WIKI,
                         summary_line, DISK_ERRNOS, disk_problem)
from .learning import COMMANDS as LEARNING_COMMANDS
from .review.commands import COMMANDS as REVIEW_COMMANDS

__all__ = ["main", "Command", "arg", "COMMANDS", "all_commands", "EXIT_OK", "EXIT_FAILURES", "EXIT_USAGE",
           "EXIT_LOCKED", "EXIT_DATABASE", "EXIT_WIKI"]

log = logging.getLogger("bot")


# -- the commands -----------------------------------------------------------------

def run(*, settings: Settings, no_review: bool = False) -> int:
    """One pass for cron: upload log -> scores -> review page -> verdicts."""
    from .jobs import Bot
    from .lock import RunLock

    with RunLock(settings.data_dir) as lock:
        bot = Bot(settings, journal=lock.journal_path)
        try:
            report = bot.run_pass(review=not no_review)
        finally:
            bot.close()
    code = EXIT_FAILURES if report.failed else EXIT_OK
    lines = report.lines() or ["nothing to do"]
    print(summary_line(f"run: exit {code}: {lines[0]}"))
    for line in lines[1:]:
        print(f"  {line}")
    return code


def serve(*, settings: Settings) -> int:
    """Poll, score, publish and harvest on a schedule until SIGTERM."""
    from .scheduler import serve as serve_forever

    return serve_forever(settings)


def backfill(*, settings: Settings, category: str, depth: int, limit: int | None,
             chunk: int = 1000) -> int:
    """Score a category tree: breadth first, resumable, skipping what this model already scored."""
    from tqdm import tqdm

    from .jobs import Bot
    from .lock import RunLock
    from .sources import category_exists, category_title

    slug = hashlib.sha1(category.encode()).hexdigest()[:12]
    with RunLock(settings.data_dir, f"backfill-{slug}.lock") as lock:
        bot = Bot(settings, journal=lock.journal_path)
        failed = 0
        try:
            bot.check_wiki()
            if not category_exists(bot.site, category):
                print(f"backfill: [[{category_title(bot.site, category)}]] does not exist and has no "
                      "members (check the spelling)", file=sys.stderr)
                return EXIT_USAGE
            left = limit
            # Ingest a chunk, score it, repeat: pending work stays bounded and scoring starts at once.
            with tqdm(desc="queued", unit="file", dynamic_ncols=True, disable=None) as queued:  # None: terminal only
                while not bot.stop.is_set():
                    step = chunk if left is None else min(chunk, left)
                    ingest = bot.ingest_category(category, depth=depth, limit=step, progress=queued.update)
                    report = bot.score_pending(progress=True)
                    failed += report.failed
                    print(f"{ingest.format()} | {report.format()}")
                    if left is not None:
                        left -= ingest.added
                    if ingest.done or (left is not None and left <= 0):
                        break
        finally:
            bot.close()
    code = EXIT_FAILURES if failed else EXIT_OK
    print(summary_line(f"backfill: exit {code}: {failed} failed"))
    return code


def score(*, settings: Settings, titles: Sequence[str]) -> int:
    """Score exactly the named files now (none of the other pending work) and print a verdict
    for each, the stored one for a file this model already scored."""
    from .jobs import Bot

    bot = Bot(settings)
    shown: set[str] = set()

    def show(title: str, score: float | None, flagged: bool, error_kind: str | None, note: str = "") -> None:
        verdict = f"error {error_kind}" if error_kind and score is None else ("FLAGGED" if flagged else "ok")
        value = "" if score is None else f" {score:.3f}"
        print(f"{title}:{value} {verdict}{note}")
        shown.add(title)

    try:
        bot.check_wiki()
        ingest = bot.ingest_titles(titles)
        missing = ingest.extra.get("missing_titles", [])
        for title in missing:
            print(f"{title}: missing or deleted")
        import pywikibot

        named = [pywikibot.FilePage(bot.site, t).title() for t in titles]  # as the wiki spells them
        found = [t for t in dict.fromkeys(named) if t not in missing]
        report = bot.score_pending(titles=found, on_result=lambda v, r: show(
            v.title, r.score, r.flagged, None if r.ok else r.error_kind))
        for title, stored in bot.store.latest_scores(bot.model_id, [t for t in found if t not in shown]).items():
            show(title, stored.score, stored.flagged, stored.error_kind, " (stored)")
        for title in found:
            if title not in shown:
                print(f"{title}: not scored (failed or waiting to be retried; see status)")
    finally:
        bot.close()
    code = EXIT_FAILURES if report.failed or ingest.missing else EXIT_OK
    print(summary_line(f"score: exit {code}: {report.format()}"))
    return code


def status(*, settings: Settings) -> int:
    """What the database holds: pending, scored, flagged, failures, cursors, last runs."""
    store = _existing_store(settings)  # opening would create an empty database and report "nothing"
    if store is None:
        return EXIT_DATABASE
    with store:
        print(store.status().format())
    return EXIT_OK


def requeue(*, settings: Settings, kind: str | None, model_id: str | None) -> int:
    """Put given-up files back in the queue (after fixing what made them fail)."""
    store = _existing_store(settings)
    if store is None:
        return EXIT_DATABASE
    with store:
        model_id = model_id or store.status().model_id
        if model_id is None:
            print(summary_line("requeue: exit 0: nothing was scored yet, nothing given up"))
            return EXIT_OK
        count = store.retry_given_up(model_id, kind=kind)
    what = f"given-up files{f' ({kind})' if kind else ''}"
    print(summary_line(f"requeue: exit 0: {count} {what} of {model_id} back in the queue"))
    return EXIT_OK


def _existing_store(settings: Settings):
    """The store, or None (and a line) when a SQLite file is not there: never create one by mistake."""
    from sqlalchemy.engine import make_url

    import storage
    from storage.engine import default_url

    url = settings.database_url or default_url(settings.data_dir)
    if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
        print(summary_line(f"database unavailable: no database at {make_url(url).database} "
                           "(check --data-dir / --database-url)"), file=sys.stderr)
        return None
    return storage.open_store(url)


def db(*, settings: Settings, action: str) -> int:
    """``db upgrade``: apply the database migrations (also done by every command on start)."""
    import storage

    revision = storage.upgrade(settings.resolved_database_url)
    print(summary_line(f"db upgrade: exit 0: database at revision {revision}"))
    return EXIT_OK


def demo(*, settings: Settings, keep_running: bool, directory: str | None) -> int:
    """A throwaway local wiki, sample uploads, the bot end to end, and where to look."""
    from .localwiki.demo import run_demo  # the demo's wiki is no part of the running bot

    return run_demo(settings, keep_running=keep_running, directory=directory)


COMMANDS: list[Command] = [
    Command("run", run, "one pass for cron (upload log, scores, review page, verdicts)", wiki=True,
            arguments=(arg("--no-review", action="store_true", help="skip publishing and harvesting"),)),
    Command("serve", serve, "run the jobs on a schedule until SIGTERM", wiki=True),
    Command("backfill", backfill, "score the files of a category tree", wiki=True, arguments=(
        arg("--category", required=True, help="root category, with or without the Category: prefix"),
        arg("--depth", type=int, default=0, help="subcategory levels below the root (default 0)"),
        arg("--limit", type=int, default=None, help="most new files to queue in this call"),
        arg("--chunk", type=int, default=1000, help="files queued between scoring rounds"))),
    Command("score", score, "score the named files now", wiki=True,
            arguments=(arg("titles", nargs="+", metavar="TITLE"),)),
    Command("status", status, "what the database holds"),
    Command("requeue", requeue, "put given-up files back in the queue", arguments=(
        arg("--kind", default=None, help="only those whose last failure was this kind (e.g. http-503)"),
        arg("--model-id", default=None, help="default: the model that scored last"))),
    Command("db", db, "database maintenance", arguments=(arg("action", choices=["upgrade"]),)),
    Command("demo", demo, "throwaway local wiki + sample uploads + the bot end to end", arguments=(
        arg("--keep-running", action="store_true", help="leave the local wiki up (Ctrl-C stops it)"),
        arg("--directory", default=None, help="where the demo wiki lives (default: a temp dir)"))),
]


# -- settings overrides shared by every command ------------------------------------

_OVERRIDES = (
    arg("--config", metavar="FILE", help="bot settings (TOML); default $NSFWBOT_CONFIG"),
    arg("--data-dir", help="SQLite database, run lock, thumbnails"),
    arg("--database-url", help="SQLAlchemy URL (postgresql+psycopg://..., mysql+pymysql://...)"),
    arg("--model", help="timm model name, hf-hub: id or checkpoint path"),
    arg("--runtime", choices=["auto", "torch-cuda", "torch-cpu", "onnxruntime"]),
    arg("--batch-size", type=int),
    arg("--threshold", type=float),
    arg("--thumb-width", type=int),
    arg("--download-concurrency", type=int),
    arg("--lookback-hours", type=float),
    arg("--max-files-per-run", type=int),
    arg("--simulate", action="store_true", help="no wiki writes (like pywikibot's -simulate)"),
)
#: the options above that are settings (all but --config), as Settings field names
_SETTING_DESTS = tuple(flags[0][2:].replace("-", "_") for flags, _ in _OVERRIDES[1:])


def all_commands() -> list[Command]:
    """The commands of this module, then those of the review page and of learning from verdicts."""
    return [*COMMANDS, *REVIEW_COMMANDS, *LEARNING_COMMANDS]


def build_parser(commands: list[Command]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    for flags, kwargs in _OVERRIDES:
        # SUPPRESS: an option given before the command is not reset by the subcommand's parser
        common.add_argument(*flags, **{**kwargs, "default": argparse.SUPPRESS})
    return commandline.build_parser(
        commands, prog="python -m bot", parents=[common],
        description="Advisory NSFW review bot for Wikimedia Commons. pywikibot's global options "
                    "(-simulate, -dir:PATH, -user:NAME, ...) are accepted too.",
        epilog="exit codes: 0 ok, 1 some files failed, 2 usage/config error, 3 locked, "
               "4 database unavailable, 5 wiki unavailable/blocked/stop page")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {dest: getattr(args, dest) for dest in _SETTING_DESTS if hasattr(args, dest)}
    return load_settings(getattr(args, "config", None), **overrides)


def _peek(parser: argparse.ArgumentParser, argv: list[str]) -> Command | None:
    """The command named in ``argv``, before pywikibot has taken its global options out."""
    choices = parser._subparsers._group_actions[0].choices  # noqa: SLF001 (argparse has no API for it)
    for token in argv:
        if token in choices:
            return choices[token].get_default("_command")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from .memory import limit_malloc_arenas

    argv = list(sys.argv[1:] if argv is None else argv)
    # pywikibot copies sys.argv into logs/commands.log and the -log header: keep secrets out of it
    sys.argv[:] = [mask_secrets(a) for a in sys.argv]
    argv = ["--help" if a == "-help" else a for a in argv]  # pywikibot's spelling of --help
    limit_malloc_arenas()  # before any thread starts: RSS stays flat over long backfills
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)  # our own progress; libraries (alembic, urllib3) only when they warn
    try:
        commands = all_commands()
        parser = build_parser(commands)
        command = _peek(parser, argv)
        wiki = command is not None and command.wiki and not {"-h", "--help"} & set(argv)
        # settings first, checked, so that a bad value is exit 2 before pywikibot reaches the wiki
        args = parser.parse_args([a for a in argv if not _is_pywikibot_global(a)] if wiki else argv)
        settings = _settings(args)
        if wiki:
            args = parser.parse_args(_pywikibot_globals(argv, settings))
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except _WikiStartError as e:
        print(summary_line(f"wiki unavailable: {e}"), file=sys.stderr)
        return EXIT_WIKI
    except (OSError, KeyError, TypeError, ValueError) as e:  # SettingsError is a ValueError
        print(summary_line(f"configuration error: {e}"), file=sys.stderr)
        return EXIT_USAGE
    command: Command = args._command  # set by commandline.build_parser
    if command.wiki:
        from .safety import resolve_simulate
        from .site import configure_pywikibot

        settings = resolve_simulate(settings)
        configure_pywikibot(settings)
    kwargs = commandline.command_arguments(args, exclude=(*_SETTING_DESTS, "config"))
    return _dispatch(command, settings, kwargs)


_URL_PASSWORD = re.compile(r"(://[^/:@\s]*:)([^@\s]+)(@)")


def mask_secrets(text: str) -> str:
    """``text`` with the password of any URL in it (``scheme://user:PASSWORD@host``) as ``***``.

    A regular expression rather than SQLAlchemy's ``URL.render_as_string(hide_password=True)``:
    the secret may sit inside any argument (``--database-url=...``), not only in a whole URL.
    """
    return _URL_PASSWORD.sub(r"\1***\3", text)


class _WikiStartError(RuntimeError):
    pass


def _is_pywikibot_global(token: str) -> bool:
    """``-simulate``, ``-dir:PATH``, ``-user:NAME``...: one dash and a letter (ours have two dashes;
    ``-0.5`` is a value and ``-h`` argparse's help)."""
    return len(token) > 2 and token[0] == "-" and token[1].isalpha()


def _pywikibot_globals(argv: list[str], settings: Settings) -> list[str]:
    """pywikibot's ``handle_args``: global options (-simulate, -dir, -user...) applied, the rest returned.

    It also builds the site, which reaches the wiki: failures there are exit 5.
    """
    from .site import (MissingUserConfig, check_user_config, configure_pywikibot, log_to_pywikibot_file,
                       wiki_problem)

    try:
        import pywikibot

        check_user_config()
        configure_pywikibot(settings)  # the agent's name is right from the first request
        rest = pywikibot.handle_args(argv, do_help=False)
        log_to_pywikibot_file()  # -log: the bot's own lines join pywikibot's in its log file
        return rest
    except MissingUserConfig as e:
        raise SettingsError(str(e)) from e
    except SystemExit as e:
        raise _WikiStartError(f"pywikibot could not start (exit {e.code})") from e
    except Exception as e:  # noqa: BLE001 - anything here means "no usable wiki"
        raise _WikiStartError(wiki_problem(e)) from e


def _dispatch(command: Command, settings: Settings, kwargs: dict) -> int:
    from storage import StorageError

    from .lock import LockHeld
    from .safety import Halted
    from .site import WikiUnavailable

    try:
        try:
            return command.function(settings=settings, **kwargs)
        except Exception as e:
            if command.wiki:
                _raise_as_wiki_error(e)
            raise
    except LockHeld as e:
        print(summary_line(f"{e}: nothing done"), file=sys.stderr)
        return EXIT_LOCKED
    except StorageError as e:
        print(summary_line(f"database unavailable: {e}"), file=sys.stderr)
        return EXIT_DATABASE
    except OSError as e:
        if e.errno not in DISK_ERRNOS:
            raise
        # a read-only or full data directory: the same "retry later, alert if it persists" as a database
        print(summary_line(f"disk unavailable: {disk_problem(e)}"), file=sys.stderr)
        return EXIT_DISK
    except Halted as e:
        print(summary_line(f"stopped: {e}"), file=sys.stderr)
        return EXIT_WIKI
    except WikiUnavailable as e:
        print(summary_line(f"wiki unavailable: {e}"), file=sys.stderr)
        return EXIT_WIKI
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as e:  # e.g. --runtime torch-cpu or train on the base install
        from classifiers.extras import extra_for, refusal

        if extra_for(e) is None:
            raise
        print(summary_line(f"{command.name}: {refusal(command.name, e)}"), file=sys.stderr)
        return EXIT_USAGE


def _raise_as_wiki_error(error: Exception) -> None:
    """pywikibot's errors (blocked, unreachable, server errors) during a wiki command are exit 5."""
    from pywikibot.exceptions import Error as PywikibotError

    from .safety import raise_if_blocked
    from .site import WikiUnavailable

    raise_if_blocked(error)
    if isinstance(error, (PywikibotError, ConnectionError)) and not isinstance(error, WikiUnavailable):
        from .site import wiki_problem

        raise WikiUnavailable(wiki_problem(error)) from error
