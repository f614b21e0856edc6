"""The run log: ``run_dir/run.jsonl``, one JSON event per line, appended as a run goes.

The first line is the run's header (optimizer, settings, dataset fingerprints, program
state). Later lines record every evaluated example (``row``: candidate state hash, example
key, score), every candidate (``candidate``: its name, scores, and the spend so far) and the
end of the run. A crash can leave a half-written last line; opening the log drops it.

Opening an existing log checks that its header matches the new run: resuming with other
data, another program or other settings would mix two runs, so it is refused.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from pliable.errors import UsageError
from pliable.lm.budget import Spent

__all__ = ["RunLog"]

LOG_NAME = "run.jsonl"


class RunLog:
    """Append-only JSONL log of a compile run, with what an earlier run already did."""

    def __init__(self, run_dir: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.dir = Path(run_dir)
        self.path = self.dir / LOG_NAME
        self._lock = threading.Lock()
        self.rows: dict[tuple[str, str], tuple[float, str | None]] = {}
        self.events: list[dict[str, Any]] = []
        self.prior = Spent()
        self.resumed = False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"run_dir {str(self.dir)!r} cannot be created: {exc}") from exc
        if self.path.exists() and self.path.stat().st_size:
            self._load(header)
        else:
            self.path.write_text("")
            self.append({"event": "start", **header})

    @staticmethod
    def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """The complete events of a log (a torn last line is skipped)."""
        text = Path(path).read_text(encoding="utf-8")
        events = []
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return events

    def _load(self, header: dict[str, Any]) -> None:
        raw = self.path.read_bytes()
        good = raw[: raw.rfind(b"\n") + 1]
        if len(good) != len(raw):
            self.path.write_bytes(good)  # drop the line a crash cut short
        events = self.read(self.path)
        if not events or events[0].get("event") != "start":
            raise UsageError(
                f"{self.path} is not a pliable run log (no start event). Pass a new or empty "
                "run_dir."
            )
        start = events[0]
        for key, value in header.items():
            if start.get(key) == value:
                continue
            raise UsageError(
                f"{self.path} records another run: its {key!r} is {start.get(key)!r}, this "
                f"run's is {value!r}. Resume with the same program, data and settings, or "
                "pass a new run_dir."
            )
        self.resumed = True
        self.events = events
        for event in events:
            kind = event.get("event")
            if kind == "row" and event.get("error") is None:
                self.rows[(event["state"], event["example"])] = (event["score"], None)
            if "spent" in event:
                self.prior = Spent.from_dict(event["spent"])

    def append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, sort_keys=True, default=str) + "\n"
        with self._lock:
            self.events.append(event)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())

    def append_rows(
        self, rows: list[dict[str, Any]], *, spent: dict[str, Any] | None = None
    ) -> None:
        """Append many ``row`` events at once (one write, one fsync), then what the run has
        spent so far (so a resumed run counts it against its budget)."""
        lines = [*rows, {"event": "spent", "spent": spent}] if spent is not None else rows
        if not lines:
            return
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in lines)
        with self._lock:
            for r in rows:
                self.rows[(r["state"], r["example"])] = (r["score"], r["error"])
            with self.path.open("a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
