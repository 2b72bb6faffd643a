"""Remove what could name a model from stored video and audio, without re-encoding.

A title, a tag, an encoder string or a track name can say who made a file ("made by model-x"),
and voters must not learn that before they vote. Each container is walked by its own structure
and everything outside what playback needs is removed or blanked:

- WebM (EBML): Tags, Attachments, Chapters, the segment Title and file names, track names and
  anything unknown become EBML Void elements of exactly the same length; the muxing and writing
  application strings, and what old Void elements held, become zero bytes; Vorbis and FLAC
  comments inside a track's header are emptied. Nothing moves, so SeekHead and Cues offsets
  stay right; Seek entries that pointed at a voided element are voided with it, and a CRC-32
  over changed bytes is recomputed.
- WAV (RIFF): rebuilt from its `fmt `, `fact` and `data` chunks only; the samples are copied
  byte for byte.
- MP4: `udta`, `meta`, `uuid` (XMP, C2PA manifests) and unknown top-level boxes become `free`
  boxes of zero bytes; `free` boxes, handler names, the video compressor name and sample
  entries' vendor codes become zero bytes. In place: chunk offsets (`stco`, `co64`) still point
  at the same samples.
- MP3: ID3v2, ID3v1 and APEv2 tags are removed, stacked ones too.
- OGG: one logical stream of Vorbis, Opus, FLAC or Speex; its comments and vendor string are
  emptied and bytes after the last page dropped.
- FLAC: every metadata block but STREAMINFO and SEEKTABLE becomes zeroed PADDING (in place);
  ID3v1 and APEv2 tags after the audio are removed.

What is left: text inside the coded streams themselves (an H.264 encoder's SEI message, a
LAME header's version string, subtitle track samples), which only re-encoding would remove.

A file whose structure cannot be walked is refused (`MetadataUnreadable`): what we cannot read,
we cannot clean. No Django here: bytes in, bytes out.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass, replace

import mutagen
import mutagen.apev2
import mutagen.flac
import mutagen.id3
import mutagen.mp3
import mutagen.mp4
import mutagen.oggflac
import mutagen.oggopus
import mutagen.oggspeex
import mutagen.oggvorbis


class MetadataUnreadable(ValueError):
    """The container's structure cannot be walked, so its metadata cannot be removed."""


@dataclass(frozen=True)
class StrippedMedia:
    """The bytes to store, without metadata, and the duration in seconds when the file says."""

    data: bytes
    duration: float | None


def metadata_strip(data: bytes, *, extension: str) -> StrippedMedia:
    """Remove identifying metadata from a video or audio file of the given sniffed type.

    `extension` is the type `filetype` recognised: one of webm, mp4, wav, mp3, ogg, flac.
    Raises `MetadataUnreadable` when the file's structure cannot be walked.
    """
    strip = {
        "webm": webm_strip,
        "mp4": mp4_strip,
        "wav": wav_strip,
        "mp3": mp3_strip,
        "ogg": ogg_strip,
        "flac": flac_strip,
    }[extension]
    stripped = strip(data)
    duration = stripped.duration
    if duration is not None and not (math.isfinite(duration) and duration >= 0):
        # Headers may say anything: WebM's Duration is a float of any value, and an Opus
        # pre-skip past the last sample makes mutagen's length negative. Such a length is no
        # duration, and NaN would be stored as NULL on SQLite but as NaN on PostgreSQL.
        return replace(stripped, duration=None)
    return stripped


# -- WebM / Matroska (EBML) ----------------------------------------------------------------------

EBML_HEADER = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
INFO = 0x1549A966
TRACKS = 0x1654AE6B
TRACK_ENTRY = 0xAE
CLUSTER = 0x1F43B675
CUES = 0x1C53BB6B
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469
TAGS = 0x1254C367
VOID = 0xEC
CRC32 = 0xBF
TIMESTAMP_SCALE = 0x2AD7B1
DURATION = 0x4489
MUXING_APP = 0x4D80
WRITING_APP = 0x5741
TITLE = 0x7BA9
TRACK_NAME = 0x536E
CODEC_ID = 0x86
CODEC_PRIVATE = 0x63A2

#: What happens to an element: walked into, kept as it is, voided, or its string zeroed.
DESCEND, KEEP, VOID_IT, BLANK = "descend", "keep", "void", "blank"

#: Segment children that playback needs; everything else at that level (Tags, Attachments,
#: Chapters, anything unknown) is voided. Clusters are skipped by their size, not walked.
SEGMENT_CHILDREN = {SEEK_HEAD: DESCEND, INFO: DESCEND, TRACKS: DESCEND, CLUSTER: KEEP, CUES: KEEP}
#: IDs that end an element of unknown size: a sibling of a Segment child, or a new file.
LEVEL_ONE = {*SEGMENT_CHILDREN, CHAPTERS, ATTACHMENTS, TAGS, EBML_HEADER, SEGMENT}
#: Per parent: the action for each child ID, then the action for IDs not listed.
EBML_POLICY: dict[int | None, tuple[dict[int, str], str]] = {
    None: ({EBML_HEADER: DESCEND, SEGMENT: DESCEND}, VOID_IT),
    # EBMLVersion, EBMLReadVersion, EBMLMaxIDLength, EBMLMaxSizeLength, DocType,
    # DocTypeVersion, DocTypeReadVersion; DocTypeExtension (with a name) and unknowns go.
    EBML_HEADER: (
        dict.fromkeys([0x4286, 0x42F7, 0x42F2, 0x42F3, 0x4282, 0x4287, 0x4285], KEEP),
        VOID_IT,
    ),
    SEGMENT: (SEGMENT_CHILDREN, VOID_IT),
    SEEK_HEAD: ({SEEK: DESCEND}, VOID_IT),
    SEEK: ({SEEK_ID: KEEP, 0x53AC: KEEP}, VOID_IT),
    # TimestampScale, Duration, DateUTC, SegmentUUID, PrevUUID, NextUUID, SegmentFamily and
    # ChapterTranslate stay; Title, the three file names and unknowns go. MuxingApp and
    # WritingApp are mandatory, so they stay as empty (zero-padded) strings.
    INFO: (
        {
            **dict.fromkeys(
                [TIMESTAMP_SCALE, DURATION, 0x4461, 0x73A4, 0x3CB923, 0x3EB923, 0x4444, 0x6924],
                KEEP,
            ),
            MUXING_APP: BLANK,
            WRITING_APP: BLANK,
        },
        VOID_IT,
    ),
    TRACKS: ({TRACK_ENTRY: DESCEND}, VOID_IT),
    # A track entry holds much that playback needs, so only its text goes: Name, CodecName and
    # the old CodecSettings, CodecInfoURL and CodecDownloadURL.
    TRACK_ENTRY: (
        dict.fromkeys([TRACK_NAME, 0x258688, 0x3A9697, 0x3B4040, 0x26B240], VOID_IT),
        KEEP,
    ),
}
#: Seek entries may point only at what survives; the rest are voided with what they point at.
SEEKABLE = {SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES}
#: Names for error messages; other elements go by their hexadecimal ID.
EBML_NAMES = {
    EBML_HEADER: "EBML header",
    SEGMENT: "Segment",
    SEEK_HEAD: "SeekHead",
    INFO: "Info",
    TRACKS: "Tracks",
    TRACK_ENTRY: "TrackEntry",
    CLUSTER: "Cluster",
    CUES: "Cues",
    CHAPTERS: "Chapters",
    ATTACHMENTS: "Attachments",
    TAGS: "Tags",
}


def _ebml_name(element_id: int) -> str:
    name = EBML_NAMES.get(element_id)
    return f"the {name} element" if name else f"element 0x{element_id:X}"


@dataclass(frozen=True)
class EbmlElement:
    """One element walked: its depth (0 for top level), ID, and where it starts and ends."""

    depth: int
    id: int
    start: int
    end: int


@dataclass(frozen=True)
class StrippedWebm(StrippedMedia):
    """A stripped WebM, with the outline of the elements walked in the file as sent."""

    outline: tuple[EbmlElement, ...] = ()


def webm_strip(data: bytes) -> StrippedWebm:
    """Void, in place, every WebM element that is not needed for playback and may hold text.

    The result has exactly the length of the input and every kept element at its old offset.
    """
    stripper = _EbmlStripper(data)
    stripper.walk()
    return StrippedWebm(
        data=bytes(stripper.buf), duration=stripper.duration(), outline=tuple(stripper.outline)
    )


class _EbmlStripper:
    def __init__(self, data: bytes) -> None:
        self.buf = bytearray(data)
        self.outline: list[EbmlElement] = []
        self.edits = 0
        self.timestamp_scale = 1_000_000
        self.duration_ticks: float | None = None

    def duration(self) -> float | None:
        if not self.duration_ticks:
            return None
        return self.duration_ticks * self.timestamp_scale / 1e9

    def walk(self) -> None:
        if not self.buf.startswith(b"\x1a\x45\xdf\xa3"):
            raise MetadataUnreadable("the file does not start with an EBML header")
        self._children(None, 0, len(self.buf), depth=0, sized=True)

    def _vint(self, pos: int, end: int, what: str) -> tuple[int, int]:
        """Length and raw value (marker bit included) of the variable-size integer at `pos`."""
        if pos >= end:
            raise self._broken(pos, f"the {what} runs past the end of its parent at byte {end:,}")
        first = self.buf[pos]
        if first == 0:
            raise self._broken(pos, f"invalid {what} (byte 0x00)")
        length = 9 - first.bit_length()
        if pos + length > end:
            raise self._broken(pos, f"the {what} runs past the end of its parent at byte {end:,}")
        return length, int.from_bytes(self.buf[pos : pos + length], "big")

    def _broken(self, pos: int, reason: str) -> MetadataUnreadable:
        return MetadataUnreadable(
            f"the WebM structure cannot be read at byte {pos:,}: {reason}; "
            "the file may be truncated or damaged"
        )

    def _header(self, pos: int, end: int) -> tuple[int, int, int | None]:
        """ID, payload offset and payload end (None for unknown size) of the element at `pos`."""
        id_length, element_id = self._vint(pos, end, "element ID")
        if id_length > 4:
            raise self._broken(pos, "an element ID longer than 4 bytes")
        size_length, raw = self._vint(pos + id_length, end, "element size")
        marker = 1 << (7 * size_length)
        size = raw ^ marker
        payload = pos + id_length + size_length
        if size == marker - 1:
            return element_id, payload, None
        if payload + size > end:
            raise self._broken(
                pos,
                f"{_ebml_name(element_id)} declares {size:,} bytes, past the end of its parent "
                f"at byte {end:,}",
            )
        return element_id, payload, payload + size

    def _children(
        self, parent: int | None, start: int, end: int, *, depth: int, sized: bool
    ) -> int:
        """Apply the parent's policy to each child in [start, end); return where the parent ends.

        A parent of unknown size (`sized` False) ends where an element that cannot be its child
        begins, or at `end`.
        """
        named, otherwise = EBML_POLICY[parent]
        edits_before = self.edits
        first_child: int | None = None
        track: dict[int, tuple[int, int]] = {}
        pos = start
        while pos < end:
            element_id, payload, payload_end = self._header(pos, end)
            if not sized and element_id in (EBML_HEADER, SEGMENT):
                break  # a Segment of unknown size ends where the next file begins
            if first_child is None:
                first_child = element_id
            action = KEEP if element_id in (VOID, CRC32) else named.get(element_id, otherwise)
            if payload_end is None:
                # Its end is known once its children are walked; it is listed before them.
                index = len(self.outline)
                if element_id == SEGMENT and parent is None:
                    payload_end = self._children(SEGMENT, payload, end, depth=1, sized=False)
                elif element_id == CLUSTER and parent == SEGMENT:
                    payload_end = self._cluster_end(payload, end)
                else:
                    raise self._broken(pos, f"{_ebml_name(element_id)} has an unknown size")
                self.outline.insert(index, EbmlElement(depth, element_id, pos, payload_end))
                pos = payload_end
                continue
            self.outline.append(EbmlElement(depth, element_id, pos, payload_end))
            if action == DESCEND:
                self._children(element_id, payload, payload_end, depth=depth + 1, sized=True)
            elif action == VOID_IT:
                self._void(pos, payload_end)
            elif action == BLANK or (element_id == VOID and any(self.buf[payload:payload_end])):
                # Void elements too: a tool that voided a tag may have left its text behind.
                self._zero(payload, payload_end)
            if parent == INFO:
                self._read_info(element_id, payload, payload_end)
            if parent == TRACK_ENTRY:
                track[element_id] = (payload, payload_end)
            if parent == SEEK_HEAD and element_id == SEEK:
                self._void_dangling_seek(pos, payload, payload_end)
            pos = payload_end
        if parent == TRACK_ENTRY:
            self._blank_codec_private(track)
        if first_child == CRC32 and self.edits != edits_before:
            self._refresh_crc(start, pos)
        return pos

    def _cluster_end(self, start: int, end: int) -> int:
        """Where a Cluster of unknown size ends: at the next level-1 element or the end."""
        pos = start
        while pos < end:
            element_id, _, payload_end = self._header(pos, end)
            if element_id in LEVEL_ONE:
                break
            if payload_end is None:
                raise self._broken(pos, f"{_ebml_name(element_id)} has an unknown size")
            pos = payload_end
        return pos

    def _read_info(self, element_id: int, start: int, end: int) -> None:
        value = bytes(self.buf[start:end])
        if element_id == TIMESTAMP_SCALE and 0 < len(value) <= 8:
            self.timestamp_scale = int.from_bytes(value, "big") or self.timestamp_scale
        elif element_id == DURATION and len(value) in (4, 8):
            self.duration_ticks = struct.unpack(">f" if len(value) == 4 else ">d", value)[0]

    def _void_dangling_seek(self, pos: int, start: int, end: int) -> None:
        """Void a Seek entry whose target is voided, so no reader goes looking for it."""
        target = None
        child = start
        while child < end:
            element_id, payload, payload_end = self._header(child, end)
            assert payload_end is not None  # a Seek's children are sized (checked when walked)
            if element_id == SEEK_ID:
                target = int.from_bytes(self.buf[payload:payload_end], "big")
            child = payload_end
        if target not in SEEKABLE:
            self._void(pos, end)

    def _blank_codec_private(self, track: dict[int, tuple[int, int]]) -> None:
        """Empty the comments a codec keeps in the track header (Vorbis and FLAC do)."""
        if CODEC_PRIVATE not in track or CODEC_ID not in track:
            return
        codec = bytes(self.buf[slice(*track[CODEC_ID])]).rstrip(b"\x00")
        start, end = track[CODEC_PRIVATE]
        if codec == b"A_VORBIS":
            self.edits += _vorbis_comment_blank(self.buf, start, end)
        elif codec == b"A_FLAC":
            if self.buf[start : start + 4] != b"fLaC":
                raise self._broken(start, "the FLAC track's header does not start with fLaC")
            _flac_blocks_blank(self.buf, start + 4, end)
            self.edits += 1

    def _void(self, start: int, end: int) -> None:
        """Overwrite [start, end) with one Void element of exactly that length."""
        total = end - start
        for length in range(1, 9):
            payload = total - 1 - length
            # All ones means "unknown size", so the largest value of each length is unusable.
            if 0 <= payload < (1 << (7 * length)) - 1:
                break
        else:  # pragma: no cover - every element is at least 2 bytes long
            raise self._broken(start, "an element too short to void")
        self.buf[start] = VOID
        self.buf[start + 1 : start + 1 + length] = ((1 << (7 * length)) | payload).to_bytes(
            length, "big"
        )
        self.buf[start + 1 + length : end] = bytes(payload)
        self.edits += 1

    def _zero(self, start: int, end: int) -> None:
        self.buf[start:end] = bytes(end - start)
        self.edits += 1

    def _refresh_crc(self, start: int, end: int) -> None:
        """Recompute a parent's CRC-32 (its first child) over the rest of the parent's data."""
        _, payload, payload_end = self._header(start, end)
        if payload_end is None or payload_end - payload != 4:
            raise self._broken(start, "a CRC-32 element that is not 4 bytes long")
        crc = zlib.crc32(self.buf[payload_end:end]) & 0xFFFFFFFF
        self.buf[payload:payload_end] = crc.to_bytes(4, "little")


# -- Codec headers shared by containers ----------------------------------------------------------

#: The shortest valid Vorbis comment header: no vendor, no comments, the framing bit.
EMPTY_VORBIS_COMMENT = b"\x03vorbis" + bytes(8) + b"\x01"


def _vorbis_comment_blank(buf: bytearray, start: int, end: int) -> int:
    """Empty the comment header inside Xiph-laced Vorbis headers, keeping its length.

    Decoders stop reading the packet at the framing bit, so zero bytes after it are ignored and
    the lacing (which gives each packet's length) stays right. Returns 1 if anything changed.
    """
    if start >= end or buf[start] != 2:
        raise MetadataUnreadable("the Vorbis track's header does not hold three packets")
    pos = start + 1
    sizes = []
    for _ in range(2):
        size = 0
        while True:
            if pos >= end:
                raise MetadataUnreadable("the Vorbis track's header is cut short")
            size += buf[pos]
            pos += 1
            if buf[pos - 1] != 255:
                break
        sizes.append(size)
    comment = pos + sizes[0]
    comment_end = comment + sizes[1]
    if comment_end > end or buf[comment : comment + 7] != b"\x03vorbis":
        raise MetadataUnreadable("the Vorbis track's comment header is not where its lacing says")
    if sizes[1] < len(EMPTY_VORBIS_COMMENT):
        raise MetadataUnreadable("the Vorbis track's comment header is too short to be valid")
    blank = EMPTY_VORBIS_COMMENT + bytes(sizes[1] - len(EMPTY_VORBIS_COMMENT))
    if buf[comment:comment_end] == blank:
        return 0
    buf[comment:comment_end] = blank
    return 1


#: FLAC metadata blocks that decoding needs; every other one becomes PADDING.
FLAC_KEPT_BLOCKS = {0, 3}  # STREAMINFO, SEEKTABLE
FLAC_PADDING = 1


def _flac_blocks_blank(buf: bytearray, start: int, end: int) -> int:
    """Turn every FLAC metadata block from `start` but STREAMINFO and SEEKTABLE into zeroed
    PADDING of the same length, in place; return the offset after the last block."""
    pos = start
    while True:
        if pos + 4 > end:
            raise MetadataUnreadable(f"the FLAC metadata block at byte {pos} is cut short")
        flags = buf[pos]
        block_type = flags & 0x7F
        size = int.from_bytes(buf[pos + 1 : pos + 4], "big")
        if block_type == 127 or pos + 4 + size > end:
            raise MetadataUnreadable(
                f"the FLAC metadata block at byte {pos} is invalid or runs past the end"
            )
        if pos == start and block_type != 0:
            raise MetadataUnreadable("the FLAC metadata does not begin with STREAMINFO")
        if block_type not in FLAC_KEPT_BLOCKS:
            buf[pos] = (flags & 0x80) | FLAC_PADDING
            buf[pos + 4 : pos + 4 + size] = bytes(size)
        pos += 4 + size
        if flags & 0x80:
            return pos


# -- WAV (RIFF) ----------------------------------------------------------------------------------

#: The chunks a player needs, in the order they are written back. LIST (INFO, adtl), id3, bext,
#: iXML, cue, smpl, JUNK and anything else are dropped: cue points and loops mean nothing to a
#: browser, and their labels live in LIST chunks anyway.
WAV_KEPT_CHUNKS = (b"fmt ", b"fact", b"data")
#: Formats whose duration is simply the data length over the byte rate: PCM, IEEE float,
#: A-law, mu-law and WAVE_FORMAT_EXTENSIBLE.
WAV_CONSTANT_RATE = {0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE}


def wav_strip(data: bytes) -> StrippedMedia:
    """Rebuild a WAV from its fmt, fact and data chunks; the data chunk is copied unchanged.

    A data chunk whose size runs past the end of the file (a writer that streamed and never
    went back to fill in the size) is taken to the end of the file. Bytes after the RIFF
    chunk, such as an ID3v1 tag, are dropped. Raises `MetadataUnreadable` for any other chunk
    that runs past the end, a missing fmt or data chunk, or a second one.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise MetadataUnreadable("the file is not a RIFF WAVE file")
    # Streaming writers leave the RIFF size at 0 or 0xFFFFFFFF: then the file's end is the end.
    declared_end = 8 + int.from_bytes(data[4:8], "little")
    end = declared_end if 20 <= declared_end <= len(data) else len(data)
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= end:
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body_end = pos + 8 + size
        if body_end > end:
            if chunk_id != b"data":
                raise MetadataUnreadable(
                    f"the WAV chunk {_fourcc(chunk_id)} at byte {pos:,} declares {size:,} bytes, "
                    "past the end of the file; the file may be truncated or damaged"
                )
            body_end = min(body_end, len(data))
        if chunk_id in WAV_KEPT_CHUNKS:
            if chunk_id in chunks:
                raise MetadataUnreadable(
                    f"the WAV file holds more than one {_fourcc(chunk_id)} chunk"
                )
            chunks[chunk_id] = data[pos + 8 : body_end]
        pos = body_end + (size & 1)
    for needed in (b"fmt ", b"data"):
        if needed not in chunks:
            raise MetadataUnreadable(f"the WAV file has no {_fourcc(needed)} chunk")
    fmt = chunks[b"fmt "]
    if len(fmt) < 16:
        raise MetadataUnreadable("the WAV fmt chunk is shorter than 16 bytes")
    format_tag, channels, rate, byte_rate, block_align = struct.unpack("<HHIIH", fmt[:14])
    if not (channels and rate and block_align):
        raise MetadataUnreadable(
            f"the WAV fmt chunk declares {channels} channels at {rate} Hz with blocks of "
            f"{block_align} bytes, which no player can play"
        )
    body = b"".join(
        chunk_id
        + struct.pack("<I", len(chunks[chunk_id]))
        + chunks[chunk_id]
        + b"\x00" * (len(chunks[chunk_id]) & 1)
        for chunk_id in WAV_KEPT_CHUNKS
        if chunk_id in chunks
    )
    stored = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    samples = len(chunks[b"data"])
    duration: float | None = None
    if format_tag not in WAV_CONSTANT_RATE and len(chunks.get(b"fact", b"")) >= 4:
        duration = int.from_bytes(chunks[b"fact"][:4], "little") / rate
    elif byte_rate:
        duration = samples / byte_rate
    return StrippedMedia(data=stored, duration=duration)


def _fourcc(code: bytes) -> str:
    """A chunk or box type as people write it: 'fmt ', 'LIST', 'moov'."""
    return repr(code.decode("latin-1"))


# -- MP4 (ISO base media) ------------------------------------------------------------------------

#: Top-level boxes that playback (progressive or fragmented) uses; others are blanked.
MP4_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"moof", b"mfra", b"styp", b"sidx", b"ssix", b"prft"}
MP4_TOP_LEVEL |= {b"pdin"}  # not `emsg`: its event URIs and messages are free text
#: Boxes walked into, to find the text inside them.
MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex"}
MP4_CONTAINERS |= {b"moof", b"traf", b"mfra"}
#: Boxes that hold user data, metadata, XMP or C2PA manifests, wherever they are.
MP4_BLANKED = {b"udta", b"meta", b"uuid"}
MP4_PADDING = {b"free", b"skip", b"wide"}


def mp4_strip(data: bytes) -> StrippedMedia:
    """Blank, in place, every MP4 box that may hold text and is not needed for playback.

    `udta`, `meta`, `uuid` (outside fragments, where PIFF keeps sample data in them) and unknown
    top-level boxes (`emsg` included) become `free` boxes of zero bytes; `free` boxes are
    zeroed; handler names, data reference names and locations, the video compressor name and
    sample entries' vendor codes become zero bytes. No box moves
    or changes size, so chunk offsets stay right.
    """
    walker = _Mp4Walker(data)
    walker.boxes(b"", 0, len(data))
    stored = bytes(walker.buf)
    return StrippedMedia(
        data=stored, duration=_read_duration(mutagen.mp4.MP4, stored, "the MP4 file cannot be read")
    )


def _mp4_blanked(parent: bytes, box_type: bytes) -> bool:
    """Whether a box becomes zeroed `free`: metadata anywhere, unknown boxes at the top level.

    A `uuid` box inside a track fragment stays: PIFF keeps sample encryption data there.
    """
    if parent == b"":
        return box_type not in MP4_TOP_LEVEL | MP4_PADDING
    return box_type in MP4_BLANKED and not (box_type == b"uuid" and parent == b"traf")


class _Mp4Walker:
    def __init__(self, data: bytes) -> None:
        self.buf = bytearray(data)
        self.handler = b""
        self.sample_tables: list[tuple[int, int]] = []

    def boxes(self, parent: bytes, start: int, end: int) -> None:
        pos = start
        while pos < end:
            box_type, base, payload, box_end = self._box(pos, end)
            if _mp4_blanked(parent, box_type):
                self._blank(pos, base, box_end)
            elif box_type in MP4_PADDING:
                self.buf[base:box_end] = bytes(box_end - base)
            elif box_type == b"hdlr":
                self._blank_handler_name(pos, payload, box_end, parent)
            elif box_type == b"dref":
                self._blank_data_references(payload, box_end)
            elif box_type == b"stsd":
                self.sample_tables.append((payload, box_end))
            elif box_type == b"trak":
                self.handler, self.sample_tables = b"", []
                self.boxes(box_type, payload, box_end)
                # The handler (in mdia) says how to read the sample entries (in minf).
                for table in self.sample_tables:
                    self._blank_sample_entries(*table)
            elif box_type in MP4_CONTAINERS:
                self.boxes(box_type, payload, box_end)
            pos = box_end

    def _box(self, pos: int, end: int) -> tuple[bytes, int, int, int]:
        """Type, end of the size fields, payload offset and end of the box at `pos`."""
        if pos + 8 > end:
            raise self._broken(pos, "a box header runs past the end of its parent")
        size = int.from_bytes(self.buf[pos : pos + 4], "big")
        box_type = bytes(self.buf[pos + 4 : pos + 8])
        base = pos + 8
        if size == 1:
            if pos + 16 > end:
                raise self._broken(pos, "a box header runs past the end of its parent")
            size = int.from_bytes(self.buf[pos + 8 : pos + 16], "big")
            base = pos + 16
        elif size == 0:
            size = end - pos  # the box runs to the end of the file
        payload = base + 16 if box_type == b"uuid" else base
        if size < payload - pos:
            raise self._broken(
                pos, f"box {_fourcc(box_type)} declares {size:,} bytes, less than its header"
            )
        if pos + size > end:
            raise self._broken(
                pos, f"box {_fourcc(box_type)} declares {size:,} bytes, past the end of its parent"
            )
        return box_type, base, payload, pos + size

    def _broken(self, pos: int, reason: str) -> MetadataUnreadable:
        return MetadataUnreadable(
            f"the MP4 structure cannot be read at byte {pos:,}: {reason}; "
            "the file may be truncated or damaged"
        )

    def _blank(self, pos: int, base: int, end: int) -> None:
        self.buf[pos + 4 : pos + 8] = b"free"
        self.buf[base:end] = bytes(end - base)

    def _blank_handler_name(self, pos: int, payload: int, end: int, parent: bytes) -> None:
        # version/flags, pre_defined (QuickTime: component type), handler type, 12 reserved
        # bytes (QuickTime: manufacturer and flags), then the name: a C string in MP4, a
        # counted string in QuickTime. All zeros reads as an empty name in both.
        if end - payload < 24:
            raise self._broken(pos, "a handler box shorter than 24 bytes")
        if parent == b"mdia":
            self.handler = bytes(self.buf[payload + 8 : payload + 12])
        self.buf[payload + 12 : payload + 16] = bytes(4)  # QuickTime manufacturer
        self.buf[payload + 24 : end] = bytes(end - payload - 24)

    def _blank_data_references(self, start: int, end: int) -> None:
        # Each entry is a full box; `url ` and `urn ` carry a name and a location as C strings
        # (any text). Flag 1 means "the media is in this file", the only kind we store, and
        # then no string is read: they become zero bytes.
        pos = start + 8  # version/flags, entry_count
        while pos < end:
            box_type, _, payload, entry_end = self._box(pos, end)
            if box_type in (b"url ", b"urn ") and entry_end - payload >= 4:
                self.buf[payload : payload + 4] = b"\x00\x00\x00\x01"
                self.buf[payload + 4 : entry_end] = bytes(entry_end - payload - 4)
            pos = entry_end

    def _blank_sample_entries(self, start: int, end: int) -> None:
        # VisualSampleEntry: 8 bytes of SampleEntry, then pre_defined and reserved fields where
        # QuickTime keeps a vendor code (bytes 12-16), ..., compressorname at 42-74.
        # AudioSampleEntry: the vendor code at 12-16 too. Zero is the value MP4 requires there.
        pos = start + 8  # version/flags, entry_count
        while pos < end:
            _, _, payload, entry_end = self._box(pos, end)
            if self.handler in (b"vide", b"soun") and entry_end - payload >= 16:
                self.buf[payload + 12 : payload + 16] = bytes(4)
            if self.handler == b"vide" and entry_end - payload >= 74:
                self.buf[payload + 42 : payload + 74] = bytes(32)
            pos = entry_end


# -- MP3, OGG and FLAC ---------------------------------------------------------------------------

#: MUTAGEN_FAILS: on malformed input mutagen raises far more than MutagenError (IndexError,
#: struct.error, KeyError, ... seen when fuzzing an Opus header), so every call into it treats
#: any exception as an unreadable file: a 400 for the uploader, never a 500.

#: Taggers stack tags; more passes than this and the file is not one we want.
MAX_TAG_PASSES = 8


def _read_duration(file_type: type[mutagen.FileType], stored: bytes, failure: str) -> float | None:
    """The length mutagen reads from the stripped bytes, which it must still be able to read."""
    try:
        parsed = file_type(io.BytesIO(stored))
    except Exception as exc:  # MUTAGEN_FAILS
        raise MetadataUnreadable(f"{failure} ({exc})") from None
    length = getattr(parsed.info, "length", None)
    return float(length) if length else None


def _tags_removed(data: bytes, *, leading_id3: bool) -> bytes:
    """Remove ID3v1 and APEv2 tags at the end (and ID3v2 tags at the start) until none is left."""
    buffer = io.BytesIO(data)
    for _ in range(MAX_TAG_PASSES):
        before = buffer.getvalue()
        try:
            mutagen.id3.delete(buffer, delete_v1=True, delete_v2=leading_id3)
            mutagen.apev2.delete(buffer)
        except Exception as exc:  # MUTAGEN_FAILS
            raise MetadataUnreadable(f"its tags cannot be removed ({exc})") from None
        if buffer.getvalue() == before:
            return before
    raise MetadataUnreadable(f"more than {MAX_TAG_PASSES} tags are stacked in the file")


def mp3_strip(data: bytes) -> StrippedMedia:
    """Remove every ID3v2 tag at the start and ID3v1 and APEv2 tag at the end of an MP3."""
    stored = _tags_removed(data, leading_id3=True)
    return StrippedMedia(
        data=stored, duration=_read_duration(mutagen.mp3.MP3, stored, "no MPEG audio frames found")
    )


#: What the first packet of each Ogg codec we accept begins with.
OGG_AUDIO = {
    b"\x01vorbis": "Vorbis",
    b"OpusHead": "Opus",
    b"\x7fFLAC": "FLAC",
    b"Speex   ": "Speex",
}
OGG_TYPES = [
    mutagen.oggvorbis.OggVorbis,
    mutagen.oggopus.OggOpus,
    mutagen.oggflac.OggFLAC,
    mutagen.oggspeex.OggSpeex,
]


def ogg_pages_end(data: bytes) -> int:
    """Where the last page of a single-stream Ogg audio file ends.

    Refuses a file of more than one logical stream (multiplexed or chained: mutagen cleans only
    the first), a codec that is not audio, and bytes between pages. Bytes after the page that
    ends the stream are not part of it and are left out.
    """
    pos = 0
    serial: bytes | None = None
    ended = False
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            if ended:
                break
            raise MetadataUnreadable(
                f"no Ogg page at byte {pos:,}; the file may be truncated or damaged"
            )
        if pos + 27 > len(data) or pos + 27 + data[pos + 26] > len(data):
            raise MetadataUnreadable(f"the Ogg page at byte {pos:,} is cut short")
        segments = data[pos + 26]
        body = pos + 27 + segments
        page_end = body + sum(data[pos + 27 : body])
        if page_end > len(data):
            raise MetadataUnreadable(f"the Ogg page at byte {pos:,} is cut short")
        page_serial = data[pos + 14 : pos + 18]
        if serial is None:
            codec = next(
                (name for head, name in OGG_AUDIO.items() if data.startswith(head, body)), None
            )
            if codec is None:
                raise MetadataUnreadable(
                    "the OGG file does not hold Vorbis, Opus, FLAC or Speex audio"
                )
            serial = page_serial
        elif page_serial != serial or ended:
            raise MetadataUnreadable(
                "the OGG file holds more than one stream (multiplexed or chained); "
                "send a file with a single audio stream"
            )
        ended = bool(data[pos + 5] & 0x04)
        pos = page_end
    return pos


def ogg_strip(data: bytes) -> StrippedMedia:
    """Empty the comments and the vendor string of a single-stream Ogg audio file."""
    buffer = io.BytesIO(data[: ogg_pages_end(data)])
    try:
        parsed = mutagen.File(buffer, options=OGG_TYPES)
    except Exception as exc:  # MUTAGEN_FAILS
        raise MetadataUnreadable(f"the OGG file's headers cannot be read ({exc})") from None
    if parsed is None or parsed.tags is None:
        raise MetadataUnreadable("the OGG file's headers cannot be read")
    parsed.tags.clear()
    parsed.tags.vendor = ""
    # An Opus comment header may end in binary data that mutagen keeps (its private _pad_data);
    # it could say anything, so it goes too. The tests plant text there to notice a rename.
    if getattr(parsed.tags, "_pad_data", b""):
        parsed.tags._pad_data = b""
    try:
        buffer.seek(0)
        parsed.save(buffer, padding=lambda info: 0)
    except Exception as exc:  # MUTAGEN_FAILS
        raise MetadataUnreadable(f"the OGG file's comments cannot be removed ({exc})") from None
    length = getattr(parsed.info, "length", None)
    return StrippedMedia(data=buffer.getvalue(), duration=float(length) if length else None)


def flac_strip(data: bytes) -> StrippedMedia:
    """Zero every FLAC metadata block but STREAMINFO and SEEKTABLE and drop trailing tags."""
    if not data.startswith(b"fLaC"):
        raise MetadataUnreadable("the file does not start with fLaC")
    buf = bytearray(data)
    audio = _flac_blocks_blank(buf, 4, len(buf))
    # A block that lied about its size would leave us inside another block, not at a frame.
    if not (audio + 1 < len(buf) and buf[audio] == 0xFF and buf[audio + 1] & 0xFE == 0xF8):
        raise MetadataUnreadable(
            f"no FLAC audio frame where the metadata ends (byte {audio:,}); "
            "the file may be truncated or damaged"
        )
    stored = _tags_removed(bytes(buf), leading_id3=False)
    return StrippedMedia(
        data=stored,
        duration=_read_duration(mutagen.flac.FLAC, stored, "the FLAC file cannot be read"),
    )
