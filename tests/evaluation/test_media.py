"""Media intake: what is accepted, what is refused, and what is stripped before storing."""

from __future__ import annotations

import io
import struct
import warnings
import wave

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from evaluation.media import (
    MediaError,
    MediaTooLarge,
    media_inspect,
    media_random_name,
    media_removed_on_error,
    media_store,
    text_inspect,
)
from tests.factories import huge_png, jpeg_bytes, named_file, png_bytes, wav_bytes

SECRET = b"SecretModel-v3"


def exif_with_secret() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0131] = SECRET.decode()  # Software
    exif[0x010E] = SECRET.decode()  # ImageDescription
    return exif


def inspect(data: bytes, name: str = "") -> object:
    return media_inspect(named_file(data, name or "f"), filename=name, field="media[0]")


def test_it_strips_exif_from_a_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), "blue").save(buffer, "JPEG", exif=exif_with_secret())
    assert SECRET in buffer.getvalue()
    inspected = inspect(buffer.getvalue(), "photo.jpg")
    assert SECRET not in inspected.data
    assert (inspected.kind, inspected.content_type) == ("image", "image/jpeg")
    assert (inspected.width, inspected.height) == (32, 16)
    assert Image.open(io.BytesIO(inspected.data)).getexif() == {}


def test_it_applies_the_exif_orientation_before_dropping_it():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (40, 10), "red").save(buffer, "JPEG", exif=exif)
    stored = Image.open(io.BytesIO(inspect(buffer.getvalue(), "r.jpg").data))
    assert stored.size == (10, 40)


def test_it_strips_text_chunks_and_exif_from_a_png():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", SECRET.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG", pnginfo=info, exif=exif_with_secret())
    assert SECRET in buffer.getvalue()
    assert SECRET not in inspect(buffer.getvalue(), "a.png").data


def test_it_strips_the_comment_of_an_animated_gif_and_keeps_its_frames():
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], comment=SECRET, duration=100, loop=0
    )
    assert SECRET in buffer.getvalue()
    inspected = inspect(buffer.getvalue(), "a.gif")
    assert SECRET not in inspected.data
    assert Image.open(io.BytesIO(inspected.data)).n_frames == 3


def test_it_strips_exif_from_a_webp():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "WEBP", exif=exif_with_secret())
    assert SECRET in buffer.getvalue()
    inspected = inspect(buffer.getvalue(), "a.webp")
    assert SECRET not in inspected.data
    assert inspected.content_type == "image/webp"


def test_it_refuses_a_jpeg_named_png():
    with pytest.raises(MediaError, match=r"named \.png but its content is image/jpeg"):
        inspect(jpeg_bytes(), "out.png")


def test_it_accepts_bytes_without_a_name():
    assert inspect(png_bytes(), "").extension == "png"


def test_it_refuses_a_tiff():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "TIFF")
    with pytest.raises(MediaError, match="allowed are PNG, JPEG, WebP or GIF"):
        inspect(buffer.getvalue(), "a.tiff")


def test_it_refuses_an_image_over_the_pixel_limit(settings):
    settings.VERSUS_MAX_IMAGE_PIXELS = 100
    with pytest.raises(MediaError, match="over the limit of 100 pixels"):
        inspect(png_bytes(size=(11, 10)), "a.png")


def gif_frames(size: tuple[int, int], count: int) -> bytes:
    """An animated GIF of `count` frames alternating between two palette colours."""
    frames = [Image.new("P", size, index % 2) for index in range(count)]
    for frame in frames:
        frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, optimize=False
    )
    return buffer.getvalue()


def gif_growing(small: tuple[int, int], large: tuple[int, int]) -> bytes:
    """A two-frame GIF whose header declares `small` and whose second frame is `large`."""

    def parts(size: tuple[int, int], index: int) -> tuple[bytes, bytes]:
        frame = Image.new("P", size, index)
        frame.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
        buffer = io.BytesIO()
        frame.save(buffer, "GIF", optimize=False)
        data = buffer.getvalue()
        flags = data[10]
        table = 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0
        # Header, screen descriptor and colour table; then the frame's blocks, without the ";".
        return data[: 13 + table], data[13 + table : -1]

    head, first = parts(small, 0)
    _, second = parts(large, 1)
    return head + first + second + b";"


def test_it_refuses_an_animation_whose_frames_hold_too_many_pixels(settings):
    settings.VERSUS_MAX_ANIMATION_PIXELS = 10_000
    data = gif_frames((20, 20), 30)  # 400 pixels a frame, 12,000 in all, in a few KB
    assert len(data) < 30_000
    with pytest.raises(MediaError, match=r"30 frames hold 12,000 pixels in all") as refused:
        inspect(data, "a.gif")
    assert (refused.value.field, refused.value.code) == ("media[0]", "too_many_pixels")


def test_it_keeps_an_animation_under_the_pixel_limit(settings):
    settings.VERSUS_MAX_ANIMATION_PIXELS = 10_000
    inspected = inspect(gif_frames((20, 20), 25), "a.gif")
    assert Image.open(io.BytesIO(inspected.data)).n_frames == 25


def test_it_refuses_a_gif_frame_that_grows_past_the_pixel_limit(settings):
    # The header says 10x10; the second frame enlarges the canvas to 100x100 when decoded.
    settings.VERSUS_MAX_IMAGE_PIXELS = 6_000
    data = gif_growing((10, 10), (100, 100))
    assert Image.open(io.BytesIO(data)).size == (10, 10)
    with pytest.raises(MediaError, match="100x100 pixels is over the limit of 6,000") as refused:
        inspect(data, "a.gif")
    assert refused.value.code == "too_many_pixels"


def test_it_decodes_an_image_above_pillows_default_limit_when_the_setting_allows_it(settings):
    # Pillow's own limit would warn at 89 million pixels; ours says 120 million, and wins.
    settings.VERSUS_MAX_IMAGE_PIXELS = 120_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inspected = inspect(huge_png(10_000, 9_000), "big.png")
    assert (inspected.width, inspected.height) == (10_000, 9_000)


def test_it_refuses_an_empty_file():
    with pytest.raises(MediaError, match="empty"):
        inspect(b"", "a.png")


def test_it_answers_too_large_per_kind(settings):
    settings.VERSUS_MAX_AUDIO_BYTES = 100
    with pytest.raises(MediaTooLarge, match="audio limit"):
        inspect(wav_bytes(), "a.wav")


def test_it_rewrites_a_wav_without_its_info_chunk():
    data = wav_bytes(0.5)
    info = b"INFO" + b"INAM" + struct.pack("<I", len(SECRET)) + SECRET
    tagged = data + b"LIST" + struct.pack("<I", len(info)) + info
    tagged = tagged[:4] + struct.pack("<I", len(tagged) - 8) + tagged[8:]
    inspected = inspect(tagged, "a.wav")
    assert SECRET not in inspected.data
    assert inspected.duration == pytest.approx(0.5)
    with wave.open(io.BytesIO(inspected.data)) as handle:
        assert handle.getnframes() == 4000


def mp3_with_id3_title(title: bytes) -> bytes:
    """An ID3v2.3 tag with a TIT2 frame, then silent MPEG-1 Layer III frames (128 kbps)."""
    text = b"\x00" + title
    frame = b"TIT2" + struct.pack(">I", len(text)) + b"\x00\x00" + text
    size = len(frame)
    synchsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    tag = b"ID3\x03\x00\x00" + synchsafe + frame
    audio_frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # 417 bytes at 128 kbps, 44.1 kHz
    return tag + audio_frame * 40


def test_it_strips_id3_tags_from_an_mp3_and_reads_its_duration():
    inspected = inspect(mp3_with_id3_title(SECRET), "song.mp3")
    assert (inspected.kind, inspected.content_type) == ("audio", "audio/mpeg")
    assert SECRET not in inspected.data
    assert inspected.duration == pytest.approx(40 * 1152 / 44100, rel=0.05)


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "x\x00.png", "..\\x.png"])
def test_it_refuses_a_file_name_that_is_a_path(name):
    with pytest.raises(MediaError, match="path or control character"):
        inspect(png_bytes(), name)


def test_it_names_random_storage_paths_by_kind():
    inspected = inspect(png_bytes(), "x.png")
    first, second = media_random_name(inspected), media_random_name(inspected)
    assert first != second
    assert first.startswith("image/")
    assert first.endswith(".png")


def test_it_checks_text_outputs(settings):
    settings.VERSUS_MAX_TEXT_CHARS = 10
    assert text_inspect("héllo", field="texts[0]").data == "héllo".encode()
    with pytest.raises(MediaTooLarge, match="at most 10"):
        text_inspect("x" * 11, field="texts[0]")
    with pytest.raises(MediaError, match="NUL"):
        text_inspect("a\x00b", field="texts[0]")
    with pytest.raises(MediaError, match="empty"):
        text_inspect("   ", field="texts[0]")


def store_then_fail(stored: list[str], *, inner_block: bool) -> None:
    """Store a file (first in a nested block that succeeds, if asked), store one more, fail."""
    inspected = inspect(png_bytes(), "x.png")
    with media_removed_on_error():
        if inner_block:
            with media_removed_on_error():
                stored.append(media_store(inspected))
        stored.append(media_store(inspected))
        assert all(default_storage.exists(name) for name in stored)
        raise RuntimeError("the transaction rolled back")


@pytest.mark.parametrize("inner_block", [False, True])
def test_it_removes_the_files_stored_in_a_block_that_fails(inner_block):
    stored: list[str] = []
    with pytest.raises(RuntimeError):
        store_then_fail(stored, inner_block=inner_block)
    assert len(stored) == 1 + inner_block
    assert not any(default_storage.exists(name) for name in stored)


def test_it_keeps_files_stored_in_a_block_that_succeeds():
    inspected = inspect(png_bytes(), "x.png")
    with media_removed_on_error(), media_removed_on_error():
        name = media_store(inspected)
    assert default_storage.exists(name)
