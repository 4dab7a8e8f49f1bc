"""A line-based progress bar for the sweep driver (no extra dependency).

On a terminal the bar is redrawn in place and every case that did not complete gets a line of its own;
in a log (not a terminal) every finished case prints one line with the bar.
"""
from __future__ import annotations

import sys
import time

from solver.sweep.store import GOOD_STATUSES


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressBar:
    def __init__(self, total: int, already_done: int, stream=None, width: int = 28, enabled: bool = True):
        self.total = total
        self.done = already_done
        self.skipped = already_done
        self.ok = 0
        self.not_ok = 0
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()

    def _bar(self) -> str:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        elapsed = time.monotonic() - self.started
        ran = self.done - self.skipped
        left = self.total - self.done
        eta = f"  ~{_clock(elapsed / ran * left)} left" if ran and left else ""
        return (f"sweep [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total}"
                f"  ok {self.ok}  not ok {self.not_ok}  skipped {self.skipped}  {_clock(elapsed)}{eta}")

    def _emit(self, text: str, newline: bool) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if newline else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def start(self) -> None:
        self._emit(self._bar(), newline=False)

    def update(self, record: dict) -> None:
        self.done += 1
        good = record.get("status") in GOOD_STATUSES
        self.ok += good
        self.not_ok += not good
        note = (f"case {record.get('case_id')} #{record.get('index')}: {record.get('status')}"
                f" (exit {record.get('return_code')}, {record.get('wall_s', 0):.1f} s)")
        if not good and record.get("message"):
            note += f": {record['message']}"
        if self.tty:
            if not good:
                self._emit(note, newline=True)
            self._emit(self._bar(), newline=False)
        else:
            self._emit(f"{self._bar()}  | {note}", newline=True)

    def close(self) -> None:
        if self.tty:
            self._emit(self._bar(), newline=True)
