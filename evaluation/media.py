"""Media intake: decide what an uploaded file really is, refuse what we will not serve, and strip
whatever could tell a voter who made it.

Every file is judged by its bytes, never by its name or the content type the client sent. Images
are decoded in full by Pillow (so truncated files and decompression bombs are refused before
anything is stored) and re-encoded without EXIF, XMP or comments. Video and audio are recognised
by their signature (`filetype`) and never re-encoded: `media_metadata` walks each container and
removes or blanks its titles, tags and encoder names, and refuses a file it cannot walk.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, ImageSequence

from config.errors import Invalid
from evaluation.media_metadata import MetadataUnreadable, metadata_strip

#: Pillow format -> (content type, extension). The formats voters' browsers all display.
IMAGE_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
#: Sniffed MIME type -> (kind, content type we serve, extension).
AV_FORMATS = {
    "video/mp4": ("video", "video/mp4", "mp4"),
    "video/webm": ("video", "video/webm", "webm"),
    "audio/mpeg": ("audio", "audio/mpeg", "mp3"),
    "audio/x-wav": ("audio", "audio/wav", "wav"),
    "audio/ogg": ("audio", "audio/ogg", "ogg"),
    "audio/x-flac": ("audio", "audio/flac", "flac"),
}
#: Extensions a file name may carry, by the format family they promise.
EXTENSION_FAMILY = {
    "png": "png",
    "jpg": "jpg",
    "jpeg": "jpg",
    "jpe": "jpg",
    "webp": "webp",
    "gif": "gif",
    "mp4": "mp4",
    "m4v": "mp4",
    "webm": "webm",
    "mp3": "mp3",
    "wav": "wav",
    "wave": "wav",
    "ogg": "ogg",
    "oga": "ogg",
    "opus": "ogg",
    "flac": "flac",
}
IMAGE_ALLOWED = "PNG, JPEG, WebP or GIF"
ALLOWED = f"{IMAGE_ALLOWED} images, MP4 or WebM video, MP3, WAV, OGG or FLAC audio"
MAX_FRAMES = 2_000
SNIFF_BYTES = 8192

logger = logging.getLogger(__name__)

# Pillow only warns between its limit and twice that; here a decompression bomb is an error.
# _inspect_image also checks every frame's size itself, so no refusal depends on this filter
# still being in place (a test runner, for one, resets filters).
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


class MediaError(Invalid):
    """An upload Versus will not store (400); nothing was written."""

    default_code = "invalid_media"


class MediaTooLarge(MediaError):
    """An upload over its kind's size limit (413)."""

    status = 413
    default_code = "too_large"


@dataclass(frozen=True)
class InspectedMedia:
    """An upload that passed inspection: the exact bytes to store and what we know of them."""

    kind: str
    content_type: str
    extension: str
    data: bytes
    width: int | None = None
    height: int | None = None
    duration: float | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def media_random_name(inspected: InspectedMedia) -> str:
    """A storage name that reveals nothing: random, spread over 256 folders, typed by content."""
    token = secrets.token_hex(16)
    return f"{inspected.kind}/{token[:2]}/{token}.{inspected.extension}"


#: Names stored by `media_store` inside the innermost `media_removed_on_error` block.
_stored_names: ContextVar[list[str] | None] = ContextVar("versus_stored_media", default=None)


def media_store(inspected: InspectedMedia) -> str:
    """Store inspected bytes under a random name (see `media_random_name`) and return the name.

    Inside `media_removed_on_error` the file is deleted again if the block fails.
    """
    name = default_storage.save(media_random_name(inspected), ContentFile(inspected.data))
    pending = _stored_names.get()
    if pending is not None:
        pending.append(name)
    return name


@contextmanager
def media_removed_on_error() -> Iterator[None]:
    """Delete every file `media_store` saves in this block if the block raises.

    Wrap it around the transaction that records the files: rows roll back, but storage (a
    folder, a bucket) knows no transactions, so a failed write would otherwise leave files that
    nothing points to. Blocks nest: files of an inner block that succeeded are removed if the
    outer one fails.
    """
    outer = _stored_names.get()
    stored: list[str] = []
    token = _stored_names.set(stored)
    try:
        yield
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    finally:
        _stored_names.reset(token)
    if outer is not None:
        outer.extend(stored)


def _limit_for(kind: str) -> int:
    return {
        "image": settings.VERSUS_MAX_IMAGE_BYTES,
        "video": settings.VERSUS_MAX_VIDEO_BYTES,
        "audio": settings.VERSUS_MAX_AUDIO_BYTES,
    }[kind]


def _human(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    raise AssertionError


def bad_filename(filename: str, field: str) -> MediaError:
    """The error for a file name that is a path or holds control characters, as sent."""
    return MediaError(
        f"{field}: the file name {filename!r} contains a path or control character; "
        "send a plain file name such as 'image.png'",
        field=field,
        code="bad_filename",
    )


def _check_filename(filename: str, field: str) -> str:
    """The extension the name promises ('' for none); names that try to be paths are refused."""
    if (
        any(ch in filename for ch in ("\x00", "/", "\\"))
        or any(ord(ch) < 32 for ch in filename)
        or filename in {".", ".."}
    ):
        raise bad_filename(filename, field)
    if "." not in filename:
        return ""
    return filename.rsplit(".", 1)[1].lower()


def _read_all(upload: IO[bytes], field: str) -> bytes:
    """Read an upload, stopping as soon as it passes the largest limit of any kind."""
    ceiling = max(_limit_for(kind) for kind in ("image", "video", "audio"))
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > ceiling:
        raise MediaTooLarge(
            f"{field}: {_human(declared)}; no media kind allows more than {_human(ceiling)}",
            field=field,
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(ceiling + 1)
    if not isinstance(data, bytes):
        raise MediaError(f"{field}: expected binary file content", field=field)
    if len(data) > ceiling:
        raise MediaTooLarge(
            f"{field}: over {_human(ceiling)}; no media kind allows more", field=field
        )
    return data


def media_inspect(upload: IO[bytes], *, filename: str = "", field: str = "media") -> InspectedMedia:
    """Check one uploaded file and return the bytes to store.

    Raises `MediaError` (400) naming `field` for anything that is not an allowed format, that
    does not match the extension its name claims, or that does not decode; `MediaTooLarge` (413)
    when it is over its kind's limit.
    """
    extension = _check_filename(filename, field)
    data = _read_all(upload, field)
    if not data:
        raise MediaError(f"{field}: the file is empty", field=field, code="empty")

    image_format = _image_format(data)
    if image_format is not None:
        inspected = _inspect_image(data, image_format, field)
    else:
        inspected = _inspect_av(data, field)

    limit = _limit_for(inspected.kind)
    if len(data) > limit:
        raise MediaTooLarge(
            f"{field}: {_human(len(data))} is over the {inspected.kind} limit of {_human(limit)}",
            field=field,
        )
    family = EXTENSION_FAMILY.get(extension)
    if extension and family is None:
        raise MediaError(
            f"{field}: {filename!r} has the extension .{extension}, which is not an allowed "
            f"media type; allowed are {ALLOWED}",
            field=field,
            code="wrong_extension",
        )
    if family and family != inspected.extension:
        raise MediaError(
            f"{field}: {filename!r} is named .{extension} but its content is "
            f"{inspected.content_type}; rename it to .{inspected.extension} or convert it",
            field=field,
            code="content_mismatch",
        )
    return inspected


def _image_format(data: bytes) -> str | None:
    """Pillow's name for the format, when the bytes begin like an allowed image."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def _inspect_image(data: bytes, expected: str, field: str) -> InspectedMedia:
    max_pixels = settings.VERSUS_MAX_IMAGE_PIXELS
    # Pillow's own decompression-bomb limit follows ours, so its check (in open, and when a GIF
    # frame enlarges the canvas) refuses exactly what this one does.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        return _decode_and_reencode(data, expected, field)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(
            f"{field}: the image declares more pixels than we decode (a decompression bomb); "
            f"at most {max_pixels:,} pixels allowed",
            field=field,
            code="too_many_pixels",
        ) from None
    except Exception as exc:
        # Damaged files make Pillow's decoders and encoders raise almost anything (IndexError
        # and struct.error from a cut GIF or bad EXIF, RuntimeError from the WebP encoder), and
        # the list changes between releases. This guard holds Pillow's work only; whatever
        # reaches it is logged, so a bug of ours here is seen and not only answered as a 400.
        logger.info("%s: %s image refused: %r", field, expected, exc, exc_info=True)
        raise MediaError(
            f"{field}: not a readable {expected} image ({exc or type(exc).__name__}); the file "
            f"may be truncated or damaged. Allowed images are {IMAGE_ALLOWED}",
            field=field,
            code="corrupt",
        ) from None


def _decode_and_reencode(data: bytes, expected: str, field: str) -> InspectedMedia:
    """Decode every frame of an image in a format we allow, and re-encode it without metadata.

    Refuses images over the pixel or frame limits with `MediaError`; anything else a damaged
    file makes Pillow raise is left to `_inspect_image`.
    """
    image = Image.open(io.BytesIO(data), formats=[expected])
    width, height = image.size
    # Checked before decoding: the header alone says how much memory decoding would take.
    _check_frame_pixels(width, height, field)
    frame_count = getattr(image, "n_frames", 1)
    if frame_count > MAX_FRAMES:
        raise MediaError(
            f"{field}: {frame_count} frames; at most {MAX_FRAMES} allowed",
            field=field,
            code="too_many_frames",
        )
    _check_animation_pixels(width * height * frame_count, frame_count, field)
    # A JPEG is re-encoded from `image` itself (its EXIF orientation is needed there), so
    # copying its frames would only double the memory a large photo takes.
    frames = _decoded_frames(image, field, copies=expected != "JPEG")
    image.seek(0)
    stored = _reencode(image, frames, expected, lossless_webp=_webp_lossless(data))
    content_type, extension = IMAGE_FORMATS[expected]
    return InspectedMedia(
        kind="image",
        content_type=content_type,
        extension=extension,
        data=stored,
        width=width,
        height=height,
    )


def _check_frame_pixels(width: int, height: int, field: str) -> None:
    """Refuse an image, or one frame of an animation, over the pixel limit."""
    max_pixels = settings.VERSUS_MAX_IMAGE_PIXELS
    if width * height > max_pixels:
        raise MediaError(
            f"{field}: {width}x{height} pixels is over the limit of {max_pixels:,} pixels "
            "(a decompression bomb, or simply too large to show)",
            field=field,
            code="too_many_pixels",
        )


def _check_animation_pixels(total: int, frame_count: int, field: str) -> None:
    """Refuse an animation whose frames together hold more pixels than we decode at once.

    A still image (one frame) answers to the pixel limit of one image alone.
    """
    limit = settings.VERSUS_MAX_ANIMATION_PIXELS
    if frame_count > 1 and total > limit:
        raise MediaError(
            f"{field}: {frame_count} frames hold {total:,} pixels in all (width x height x "
            f"frames), over the limit of {limit:,}; send fewer or smaller frames, or a video",
            field=field,
            code="too_many_pixels",
        )


#: Per-frame information that is about showing the image, not about who made it.
KEEP_INFO = ("transparency", "duration", "disposal", "background", "loop")


def _decoded_frames(image: Image.Image, field: str, *, copies: bool) -> list[Image.Image]:
    """Decode every frame once; with `copies`, return copies of them that carry only display
    information (no EXIF, XMP or comments), else an empty list.

    A GIF frame may enlarge the canvas past the size its header declared, so each frame's size
    is checked again, and the running total of pixels with it, before the frame is decoded.
    """
    frames = []
    total = 0
    for count, frame in enumerate(ImageSequence.Iterator(image), start=1):
        width, height = frame.size
        _check_frame_pixels(width, height, field)
        total += width * height
        _check_animation_pixels(total, count, field)
        if not copies:
            frame.load()
            continue
        copy = frame.copy()
        copy.info = {key: frame.info[key] for key in KEEP_INFO if key in frame.info}
        frames.append(copy)
    return frames


def _reencode(
    image: Image.Image, frames: list[Image.Image], fmt: str, *, lossless_webp: bool = False
) -> bytes:
    """The image's pixels in its own format, without EXIF, XMP, text chunks or comments.

    The colour profile is kept: dropping it would change how the image looks, and a fair
    comparison shows each output as its model made it.
    """
    icc = image.info.get("icc_profile")
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        upright = ImageOps.exif_transpose(image)
        if upright is image:
            # Same quantisation tables: re-encoding loses next to nothing.
            options.update(quality="keep", subsampling="keep")
        else:
            # The orientation lived in the EXIF we drop, so it is applied to the pixels.
            image, options["quality"] = upright, 95
        image.info = {}
        image.save(out, "JPEG", **options)
        return out.getvalue()
    first = frames[0]
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=[frame.info.get("duration", 100) for frame in frames],
            loop=image.info.get("loop", 0),
        )
    if fmt == "PNG":
        first.save(out, "PNG", **options)
    elif fmt == "WEBP":
        first.save(out, "WEBP", lossless=lossless_webp, quality=95, **options)
    else:
        first.save(out, "GIF", **options)
    return out.getvalue()


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP holds lossless (VP8L) frames only, so re-encoding stays lossless."""
    head = data[:4096]
    return b"VP8L" in head and b"VP8 " not in head


def _inspect_av(data: bytes, field: str) -> InspectedMedia:
    guess = filetype.guess(data[:SNIFF_BYTES])
    mime = guess.mime if guess is not None else None
    if mime not in AV_FORMATS:
        described = f"its content is {mime}" if mime else _describe_unknown(data)
        raise MediaError(
            f"{field}: {described}; allowed are {ALLOWED}",
            field=field,
            code="unsupported_type",
        )
    kind, content_type, extension = AV_FORMATS[mime]
    stored, duration = _strip_tags(data, extension, field)
    return InspectedMedia(
        kind=kind,
        content_type=content_type,
        extension=extension,
        data=stored,
        duration=duration,
    )


def _describe_unknown(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "it is an SVG image, which can carry scripts and is not accepted"
    if head.startswith((b"<!doctype html", b"<html")) or b"<script" in head:
        return "it is HTML, not media"
    return "its content is not a recognised media format"


def _strip_tags(data: bytes, extension: str, field: str) -> tuple[bytes, float | None]:
    """Remove metadata (titles, tags, encoder and track names) and read the duration.

    A file whose container cannot be walked is refused: its metadata could not be removed.
    """
    try:
        stripped = metadata_strip(data, extension=extension)
    except MetadataUnreadable as exc:
        raise MediaError(
            f"{field}: {exc}. Metadata is removed from every stored file, and this one cannot be "
            "read through to do so",
            field=field,
            code="unreadable_structure",
        ) from None
    return stripped.data, stripped.duration


def text_inspect(text: Any, *, field: str = "texts") -> InspectedMedia:
    """Check one text output: a UTF-8 string, no NUL characters, within the length limit."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MediaError(f"{field}: not valid UTF-8 ({exc})", field=field) from None
    if not isinstance(text, str):
        raise MediaError(f"{field}: expected a string, got {type(text).__name__}", field=field)
    if not text.strip():
        raise MediaError(f"{field}: the text is empty", field=field, code="empty")
    if "\x00" in text:
        raise MediaError(f"{field}: the text contains a NUL character", field=field)
    limit = settings.VERSUS_MAX_TEXT_CHARS
    if len(text) > limit:
        raise MediaTooLarge(
            f"{field}: {len(text):,} characters; at most {limit:,} allowed", field=field
        )
    return InspectedMedia(
        kind="text",
        content_type="text/plain; charset=utf-8",
        extension="txt",
        data=text.encode("utf-8"),
    )
