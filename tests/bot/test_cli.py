"""The command line without a wiki: settings precedence, help, usage errors, the registry."""
from __future__ import annotations

from bot import cli
from bot.lock import LeaseJournal
from bot.thumbnails import ThumbnailKeeper
from storage.records import PendingVersion


def test_settings_precedence_file_then_command_line(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text('threshold = 0.9\nmodel = "from-file"\nbatch_size = 7\n')
    parser = cli.build_parser(cli.all_commands())
    args = parser.parse_args(["--threshold", "0.95", "status", "--config", str(config),
                              "--data-dir", str(tmp_path)])
    settings = cli._settings(args)
    assert settings.threshold == 0.95  # the command line wins
    assert settings.model == "from-file" and settings.batch_size == 7  # the file beats defaults
    assert settings.data_dir == tmp_path and settings.simulate is False


def test_help_and_usage_errors(capsys):
    assert cli.main(["--help"]) == 0
    assert "exit codes" in capsys.readouterr().out
    assert cli.main(["no-such-command"]) == 2
    assert cli.main(["status", "--threshold", "high"]) == 2


def test_status_and_db_upgrade_need_no_wiki(tmp_path, capsys):
    assert cli.main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
    assert cli.main(["status", "--data-dir", str(tmp_path)]) == 0
    assert "pending" in capsys.readouterr().out


def test_a_command_is_one_registry_line(monkeypatch, capsys):
    def hello(*, settings, name: str) -> int:
        print(f"hello {name} at {settings.threshold}")
        return 0

    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + [
        cli.Command("hello", hello, "greet", arguments=(cli.arg("name"),))])
    assert cli.main(["hello", "world", "--threshold", "0.5"]) == 0
    assert capsys.readouterr().out.strip() == "hello world at 0.5"


def version(i: int) -> PendingVersion:
    return PendingVersion(version_id=i, page_id=i, title=f"File:{i}.jpg", sha1=f"{i:040x}", mime="image/jpeg",
                          media_type="bitmap", size=3, url=None, thumb_url=f"http://x/{i}.jpg", attempts=0)


def test_kept_thumbnails_are_bounded(tmp_path):
    keeper = ThumbnailKeeper(tmp_path / "thumbs", max_files=10)
    for i in range(25):
        keeper.keep(version(i), b"jpg")
    kept = sorted(tmp_path.joinpath("thumbs").iterdir())
    assert 9 <= len(kept) <= 10
    assert kept[-1].name.startswith("24-")  # the newest stay


def test_lease_journal_releases_a_dead_runs_claims(tmp_path):
    import storage
    from storage.records import FileVersionIn

    with storage.open_store(None, data_dir=tmp_path) as store:
        store.add_file_versions([FileVersionIn(page_id=i, title=f"File:{i}.jpg", sha1=f"{i:040x}")
                                 for i in range(1, 5)])
        claimed = [v.version_id for v in store.claim("m@1", worker="host:1", limit=3, lease_seconds=3600)]
        journal = LeaseJournal(tmp_path / "run.lock.leases")
        journal.record("host:1", "m@1", claimed[:2])
        journal.record("host:1", "m@1", claimed[2:])
        with open(journal.path, "a") as f:
            f.write('{"worker": "host:1", "ids": [4')  # a line cut short by SIGKILL
        assert [v.version_id for v in store.claim("m@1", worker="host:2", limit=10)] == [4]
        assert journal.recover(store) == 3
        assert not journal.path.exists()
        # Leased for an hour, yet back at once: the lock says their holder is dead.
        assert sorted(v.version_id for v in store.claim("m@1", worker="host:2", limit=10)) == sorted(claimed)
