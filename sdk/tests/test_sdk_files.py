"""File naming for bytes, and the progress bar's drawing, without a server."""

from __future__ import annotations

import io

import pytest
from versus import extension_for
from versus._progress import ProgressBar
from versus.errors import retry_after_seconds
from versus_testing import image_bytes


@pytest.mark.parametrize(
    ("head", "extension"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
        (b"ID3\x04\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),
        (b"OggS\x00\x02", "ogg"),
        (b"fLaC\x00\x00", "flac"),
        (b"hello world", "bin"),
        (b"", "bin"),
    ],
)
def test_it_names_bytes_by_their_leading_bytes(head, extension):
    assert extension_for(head) == extension


def test_it_recognises_images_pillow_writes():
    assert extension_for(image_bytes(format="PNG")) == "png"
    assert extension_for(image_bytes(format="JPEG")) == "jpg"
    assert extension_for(image_bytes(format="GIF")) == "gif"
    assert extension_for(image_bytes(format="WEBP")) == "webp"


def test_the_progress_bar_ends_at_the_total_on_its_own_line():
    stream = io.StringIO()
    bar = ProgressBar(2_000_000, label="Uploading M", stream=stream)
    bar.update(500_000)
    bar.update(1_500_000)
    bar.close()
    lines = stream.getvalue().split("\r")
    assert lines[-1].startswith("Uploading M [========================] 100% 2.0 MB/2.0 MB")
    assert lines[-1].endswith("\n")


def test_a_disabled_progress_bar_draws_nothing():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, enabled=False)
    bar.update(10)
    bar.close()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0), ("soon", None), (None, None)],
)
def test_it_reads_retry_after(header, seconds):
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert retry_after_seconds(header, now=now) == seconds
