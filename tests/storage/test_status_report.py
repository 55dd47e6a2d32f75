"""``status``: pending work by source, and runs whose process died shown as crashed (issue 13)."""
from __future__ import annotations

import socket
import subprocess
import sys

from storage.records import FileVersionIn, ScoreIn

MODEL = "m@0"


def test_pending_work_is_shown_by_source(store):
    store.add_file_versions([FileVersionIn(page_id=i, title=f"File:{i}.jpg", sha1=f"{i:040x}", source=source)
                             for i, source in ((1, "uploadlog"), (2, "uploadlog"), (3, "category:Art"),
                                               (4, "category:Art"), (5, "category:Art"))])
    (done,) = store.claim(MODEL, worker="w", limit=1, titles=["File:1.jpg"])
    store.record_score(done.version_id, MODEL, ScoreIn(flagged=False, score=0.1, media_type="still"))
    status = store.status(MODEL)
    assert status.pending_by_source == {"uploadlog": 1, "category:Art": 3}
    assert "by source  category:Art 3, uploadlog 1" in status.format()


def test_a_run_whose_process_is_gone_shows_as_crashed(store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a pid that has certainly exited
    import os

    crashed = store.start_run("run", worker=f"{socket.gethostname()}:{dead}")
    alive = store.start_run("run", worker=f"{socket.gethostname()}:{os.getpid()}")
    lines = {line.split()[0]: line for line in store.status().format().splitlines() if line.startswith("  #")}
    assert "CRASHED" in lines[f"#{crashed}"]
    assert "running" in lines[f"#{alive}"] and "CRASHED" not in lines[f"#{alive}"]
