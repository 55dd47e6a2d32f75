"""Bugs planted on purpose, each in the code behind one promise of the docs, with the tests that
must fail when it is there (``scripts/plant``; docs/testing.md, "Promises and the tests that
guard them"). ``old`` must occur exactly once in ``file``; it is replaced by ``new``.

The first seven are the examples of issue 18, which the suite of that day missed.
"""
from __future__ import annotations

from typing import NamedTuple


class Bug(NamedTuple):
    name: str
    promise: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


PLANTED: list[Bug] = [
    # --- issue 18's examples -----------------------------------------------------------------
    Bug("claims-without-row-locks", "exactly-once claims, seen as claims",
        "storage/claims.py",
        "query = query.with_for_update(skip_locked=supports_skip_locked(session))", "pass",
        ("tests/storage/test_claims_concurrent.py",)),
    Bug("cursor-before-versions", "the upload log's cursor moves in the transaction that stores its versions",
        "bot/sources.py",
        "self.store.add_file_versions(found, cursor=(self.name, cursor.state(overlap=overlap)))",
        "self.store.set_cursor(self.name, cursor.state(overlap=overlap)); self.store.add_file_versions(found)",
        ("tests/bot/test_ingest_crash_wiki.py",)),
    Bug("pywikibot-simulate-ignored", "pywikibot's -simulate is a dry run",
        "bot/safety.py",
        "if config.simulate and not settings.simulate:", "if False:",
        ("tests/bot/test_cli_wiki.py::test_pywikibots_own_simulate_is_a_dry_run",)),
    Bug("voting-settings-dropped", "the bot's vote_rule, quorum and vote_k reach scoring",
        "bot/pipeline.py",
        "voting = VotingPolicy(threshold=settings.threshold, rule=settings.vote_rule,\n"
        "                          quorum=settings.quorum, k=settings.vote_k)",
        "voting = VotingPolicy(threshold=settings.threshold)",
        ("tests/bot/test_voting_settings_wiki.py",)),
    Bug("video-red-blue-swapped", "channel order kept for video frames",
        "classifiers/media/video.py",
        "image = frame.to_image(width=w, height=h)",
        "image = frame.to_image(width=w, height=h); image = __import__('PIL.Image').Image.merge('RGB', image.split()[::-1])",
        ("tests/media/test_channel_order.py",)),
    Bug("run-exits-0-on-failures", "run exits 1 when files failed",
        "bot/cli.py",
        "code = EXIT_FAILURES if report.failed else EXIT_OK", "code = EXIT_OK",
        ("tests/bot/test_cli_wiki.py::test_run_exits_1_when_files_failed_and_0_when_none",)),
    Bug("export-untrusted-ignored", "export-labelled --untrusted decides on untrusted verdicts",
        "bot/learning.py",
        "trusted_only=not untrusted, copy=copy)", "trusted_only=True, copy=copy)",
        ("tests/learning/test_bot_learning.py",)),

    # --- trust ---------------------------------------------------------------------------------
    Bug("trust-any-group", "verdicts count only from trusted_groups",
        "bot/review/harvester.py",
        "if not groups.get(rev.user, set()) & trusted_groups:", "if False:",
        ("tests/review/test_trust.py", "tests/review/test_wiki.py")),
    Bug("trust-own-upload", "a verdict never counts on one's own upload",
        "bot/review/harvester.py",
        "elif same_user(rev.user, uploaders.get(version_id)):", "elif False:",
        ("tests/review/test_trust.py",)),
    Bug("trust-names-not-normalised", "user names compared as MediaWiki does",
        "bot/review/harvester.py",
        "return bool(a and b) and norm(a) == norm(b)", "return bool(a and b) and a == b",
        ("tests/review/test_trust.py", "tests/review/test_page.py")),
    Bug("trust-untrusted-stored-as-trusted", "an untrusted verdict is stored as untrusted",
        "bot/review/harvester.py",
        "revid=rev.revid, timestamp=as_utc(rev.timestamp), trusted=reason is None,",
        "revid=rev.revid, timestamp=as_utc(rev.timestamp), trusted=True,",
        ("tests/review/test_trust.py",)),
    Bug("trust-revert-credits-reverter", "a revert restores earlier verdicts; their authors keep them",
        "bot/review/harvester.py",
        "if not raw or rev.user == bot_name or restores:", "if not raw or rev.user == bot_name:",
        ("tests/review/test_trust.py",)),
    Bug("trust-bot-edits-are-verdicts", "the bot's own edits are nobody's verdict",
        "bot/review/harvester.py",
        "if not raw or rev.user == bot_name or restores:", "if not raw or restores:",
        ("tests/review/test_trust.py", "tests/review/test_wiki.py")),
    Bug("trust-config-from-anyone", "the config page from anyone else is reported, never applied",
        "bot/review/onwiki_config.py",
        "if set(user.get(\"groups\", ())) & CONFIG_EDITOR_GROUPS:", "if True:",
        ("tests/review/test_listing.py",)),
    Bug("trust-retire-on-untrusted", "only a trusted verdict retires a card",
        "storage/review.py",
        "verdict = verdict.where(Verdict.trusted.is_(True))\n            ids = list(session.scalars(",
        "pass\n            ids = list(session.scalars(",
        ("tests/review/test_listing.py::test_an_untrusted_answer_neither_retires_nor_unlists_a_card",)),

    Bug("trust-untrusted-answer-unlists", "an untrusted verdict never takes a file off the list",
        "storage/review.py",
        "if trusted_verdicts_only:\n                verdict = verdict.where(Verdict.trusted.is_(True))",
        "if trusted_verdicts_only:\n                pass",
        ("tests/review/test_listing.py::test_an_untrusted_answer_neither_retires_nor_unlists_a_card",)),

    # --- archiving -----------------------------------------------------------------------------
    Bug("archive-never-rolls-over", "an archive subpage holds at most review_max_entries",
        "bot/review/publisher.py",
        "if held and held + len(added) > settings.review_max_entries:", "if False:",
        ("tests/review/test_wiki.py::test_reviewed_entries_retire_to_the_archive",)),
    Bug("archive-not-written", "answered cards leave the page only into the archive",
        "bot/review/publisher.py",
        "if not _archive(site, store, settings, guard, report, list(chunks.values())):",
        "if False:",
        ("tests/review/test_wiki.py::test_reviewed_entries_retire_to_the_archive",)),
    Bug("archive-unsure-retired", "an 'unsure' card stays for a second opinion",
        "bot/review/harvester.py",
        "if latest and latest[-1].verdict == \"unsure\":", "if False:",
        ("tests/review/test_wiki.py::test_reviewed_entries_retire_to_the_archive",)),
    Bug("archive-retention-ignored", "answered cards stay reviewed_retention_hours before retiring",
        "storage/review.py",
        "Verdict.timestamp <= cutoff)", "Verdict.timestamp <= now)",
        ("tests/review/test_wiki.py::test_reviewed_entries_retire_to_the_archive",)),
    Bug("archive-open-cards-archived", "lowering the limit sends open cards to the queue, not the archive",
        "bot/review/publisher.py",
        "answered = [v for v in entries if v in reviewed][:excess]",
        "answered = entries[:excess]",
        ("tests/review/test_listing.py::test_lowering_the_limit_retires_no_open_card",)),
]
