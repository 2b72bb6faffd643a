"""Files to upload: checked before any request, opened only while their request is being sent."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MediaSource = str | os.PathLike[str] | bytes
"""A file to upload: a path on disk, or the file's bytes."""

# Leading bytes of each format the server takes, and the extension it expects with them. The server
# sniffs the content and checks the file name's extension agrees, so bytes need a truthful name.
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"OggS", "ogg"),
    (0, b"fLaC", "flac"),
    (0, b"ID3", "mp3"),
    (0, b"\x1a\x45\xdf\xa3", "webm"),
    (4, b"ftyp", "mp4"),
]


def extension_for(head: bytes) -> str:
    """The file extension (without a dot) that matches a file's leading bytes.

    Recognises PNG, JPEG, GIF, WebP, MP4, WebM, MP3, WAV, Ogg and FLAC; anything else is ``bin``
    (the server will then say what it expected).

    Parameters
    ----------
    head : bytes
        The first bytes of the file; 16 are enough.

    Returns
    -------
    str
        One of ``png``, ``jpg``, ``gif``, ``webp``, ``mp4``, ``webm``, ``mp3``, ``wav``, ``ogg``,
        ``flac`` or ``bin``.
    """
    if head[:4] == b"RIFF":
        return {b"WEBP": "webp", b"WAVE": "wav"}.get(head[8:12], "bin")
    for offset, magic, extension in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return extension
    # An MPEG audio frame without an ID3 tag: 11 sync bits, then a layer other than "reserved".
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mp3"
    return "bin"


@dataclass(frozen=True)
class UploadFile:
    """One file part of a multipart request: its part name, file name, size and where it lives."""

    field: str
    filename: str
    size: int
    path: Path | None = None
    content: bytes | None = None

    def open(self) -> IO[bytes]:
        """A fresh binary handle positioned at the start; the caller closes it."""
        if self.path is not None:
            return self.path.open("rb")
        return io.BytesIO(self.content or b"")


def upload_file(source: MediaSource, *, field: str, index: int, what: str) -> UploadFile:
    """Check one media item and describe how to upload it, without reading a path's contents.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path to an existing file, or the file's bytes. Bytes are named ``upload-<index>.<ext>``
        with the extension read from their leading bytes (see `extension_for`).
    field : str
        The multipart part name, such as ``media`` or ``prompt_assets[2]``.
    index : int
        The item's position, used for the generated name and in error messages.
    what : str
        How error messages refer to the item, such as ``"media[1]"``.

    Returns
    -------
    UploadFile

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    ValueError
        A path that is not a regular file.
    TypeError
        Anything that is neither a path nor bytes.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        content = bytes(source)
        filename = f"upload-{index}.{extension_for(content[:16])}"
        return UploadFile(field=field, filename=filename, size=len(content), content=content)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"{what}: expected a file path or bytes, got {type(source).__name__}")
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{what}: no such file: {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"{what}: {str(path)!r} is not a regular file")
    return UploadFile(field=field, filename=path.name, size=path.stat().st_size, path=path)
