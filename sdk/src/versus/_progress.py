"""A one-line upload progress bar, and a file wrapper that moves it as the upload reads the file."""

from __future__ import annotations

import io
import sys
import time
from typing import IO, TextIO

_WIDTH = 24
_REDRAW_EVERY = 0.1  # seconds; redrawing on every 64 KiB chunk would flood a slow terminal


def progress_wanted(progress: bool | None, stream: TextIO | None = None) -> bool:
    """Resolve a ``progress`` argument: None means "when stderr is a terminal"."""
    if progress is not None:
        return progress
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class ProgressBar:
    """Bytes sent out of a known total, drawn on one line of ``stream`` (stderr by default).

    Plain ASCII, redrawn in place with a carriage return at most ten times a second, and ended with
    a newline by `close`. A disabled bar draws nothing, so callers need not branch.
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "Uploading",
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.total = max(total, 0)
        self.sent = 0
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self._started = time.monotonic()
        self._drawn_at: float | None = None
        self._drawn_width = 0
        self._closed = False

    def update(self, count: int) -> None:
        """Record ``count`` more bytes sent, redrawing when enough time has passed."""
        self.sent = min(self.sent + count, self.total) if self.total else self.sent + count
        now = time.monotonic()
        if self._drawn_at is None or now - self._drawn_at >= _REDRAW_EVERY:
            self._draw(now)

    def close(self, note: str = "") -> None:
        """Draw the final state once more and end the line; ``note`` is appended to it."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(time.monotonic(), note=note)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float, note: str = "") -> None:
        self._drawn_at = now
        if not self.enabled:
            return
        fraction = self.sent / self.total if self.total else 1.0
        filled = int(fraction * _WIDTH)
        bar = "=" * filled + (">" if filled < _WIDTH else "") + " " * (_WIDTH - filled - 1)
        elapsed = max(now - self._started, 1e-6)
        line = (
            f"{self.label} [{bar}] {fraction:4.0%} {_size(self.sent)}/{_size(self.total)}"
            f" {_size(self.sent / elapsed)}/s{note}"
        )
        # Pad over the end of a longer previous line, which a carriage return does not erase.
        self.stream.write("\r" + line.ljust(self._drawn_width))
        self._drawn_width = len(line)
        self.stream.flush()


class ProgressReader(io.RawIOBase):
    """A read-only binary file that reports every byte read to a `ProgressBar`.

    httpx's multipart encoder seeks each file to 0, measures it with ``seek``/``tell`` to send a
    Content-Length (our server does not accept chunked uploads), then reads it in 64 KiB chunks;
    this wrapper passes all of that through to the real file so nothing is held in memory.
    """

    def __init__(self, raw: IO[bytes], bar: ProgressBar) -> None:
        super().__init__()
        self._raw = raw
        self._bar = bar

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._bar.update(len(chunk))
        return chunk

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()
