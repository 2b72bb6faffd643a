"""Video and audio metadata: a model name planted in every place a container keeps text is gone
from the stored copy, the copy still parses, and a container we cannot walk is refused.

The files are built by hand, small but real in structure: EBML for WebM, boxes for MP4, chunks
for WAV, pages for OGG (mutagen writes them, with their checksums), blocks for FLAC.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import filetype
import mutagen.apev2
import mutagen.flac
import mutagen.mp3
import mutagen.mp4
import mutagen.oggopus
import mutagen.wave
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from mutagen.ogg import OggPage

from evaluation.media import MediaError, media_inspect
from evaluation.media_metadata import (
    ATTACHMENTS,
    CHAPTERS,
    CLUSTER,
    CODEC_ID,
    CODEC_PRIVATE,
    CRC32,
    CUES,
    DURATION,
    EBML_HEADER,
    EMPTY_VORBIS_COMMENT,
    INFO,
    MUXING_APP,
    SEEK,
    SEEK_HEAD,
    SEEK_ID,
    SEGMENT,
    TAGS,
    TIMESTAMP_SCALE,
    TITLE,
    TRACK_ENTRY,
    TRACK_NAME,
    TRACKS,
    VOID,
    WRITING_APP,
    EbmlElement,
    webm_strip,
)
from evaluation.models import Model, Output
from tests.factories import PROMPTS, make_leaderboard, named_file, wav_bytes

SECRET = b"made by model-x"


def inspect(data: bytes, name: str) -> object:
    return media_inspect(named_file(data, name), filename=name, field="media[0]")


def refused(data: bytes, name: str, match: str) -> MediaError:
    with pytest.raises(MediaError, match=match) as caught:
        inspect(data, name)
    assert (caught.value.status, caught.value.field) == (400, "media[0]")
    assert caught.value.code == "unreadable_structure"
    return caught.value


# -- WebM ----------------------------------------------------------------------------------------

UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"
SEGMENT_FILENAME = 0x7384
CODEC_NAME = 0x258688
SIMPLE_BLOCK = 0xA3
TIMESTAMP = 0xE7


def el(element_id: int, *parts: bytes, unknown_size: bool = False) -> bytes:
    """One EBML element: its ID, its size (the shortest encoding) and its payload."""
    payload = b"".join(parts)
    length = 1
    while len(payload) >= (1 << (7 * length)) - 1:
        length += 1
    size = UNKNOWN_SIZE if unknown_size else ((1 << (7 * length)) | len(payload)).to_bytes(length)
    return element_id.to_bytes((element_id.bit_length() + 7) // 8) + size + payload


def uint(element_id: int, value: int) -> bytes:
    return el(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8)))


def ebml_header() -> bytes:
    return el(EBML_HEADER, uint(0x4286, 1), el(0x4282, b"webm"), uint(0x4287, 4), uint(0x4285, 2))


def cluster(timestamp: int, *, unknown_size: bool = False) -> bytes:
    block = b"\x81\x00\x00\x80" + bytes(range(40))  # track 1, timecode 0, keyframe, frame bytes
    return el(
        CLUSTER, uint(TIMESTAMP, timestamp), el(SIMPLE_BLOCK, block), unknown_size=unknown_size
    )


def seek(target: int, position: int) -> bytes:
    return el(SEEK, el(SEEK_ID, target.to_bytes(4)), uint(0x53AC, position))


def info(*, crc: bool = False) -> bytes:
    children = (
        uint(TIMESTAMP_SCALE, 1_000_000),
        el(DURATION, struct.pack(">d", 2000.0)),
        el(TITLE, SECRET),
        el(MUXING_APP, b"libwebm-" + SECRET),
        el(WRITING_APP, SECRET + b" writer"),
        el(SEGMENT_FILENAME, SECRET + b".webm"),
    )
    if crc:
        rest = b"".join(children)
        children = (el(CRC32, (zlib.crc32(rest) & 0xFFFFFFFF).to_bytes(4, "little")), rest)
    return el(INFO, *children)


def track(codec: bytes = b"V_VP8", codec_private: bytes = b"") -> bytes:
    children = [uint(0xD7, 1), uint(0x73C5, 7), uint(0x83, 1), el(CODEC_ID, codec)]
    if codec_private:
        children.append(el(CODEC_PRIVATE, codec_private))
    children += [el(TRACK_NAME, SECRET), el(CODEC_NAME, SECRET), el(0xE0, uint(0xB0, 16))]
    return el(TRACKS, el(TRACK_ENTRY, *children))


def tags() -> bytes:
    simple_tag = el(0x67C8, el(0x45A3, b"ENCODER"), el(0x4487, SECRET))
    return el(TAGS, el(0x7373, el(0x63C0), simple_tag))


def chapters() -> bytes:
    display = el(0x80, el(0x85, SECRET))
    return el(CHAPTERS, el(0x45B9, el(0xB6, uint(0x73C4, 1), uint(0x91, 0), display)))


def attachments() -> bytes:
    attached = el(
        0x61A7, el(0x466E, SECRET + b".txt"), el(0x4660, b"text/plain"), el(0x465C, SECRET)
    )
    return el(ATTACHMENTS, attached)


def webm_with_secrets(*, unknown_sizes: bool = False, crc: bool = False) -> bytes:
    """A WebM with the secret in every place Matroska keeps text, and Tags after the clusters.

    Seek positions are made up: nothing here reads them, and stripping must not move anything
    they could point at.
    """
    body = [
        el(SEEK_HEAD, seek(INFO, 40), seek(TRACKS, 120), seek(TAGS, 900), seek(CUES, 800)),
        el(VOID, SECRET),  # left behind by a tool that voided a tag without zeroing it
        info(crc=crc),
        track(),
        chapters(),
        attachments(),
        cluster(0, unknown_size=unknown_sizes),
        cluster(1000, unknown_size=unknown_sizes),
        el(CUES, el(0xBB, uint(0xB3, 0), el(0xB7, uint(0xF7, 1), uint(0xF1, 0)))),
        tags(),
    ]
    return ebml_header() + el(SEGMENT, *body, unknown_size=unknown_sizes)


#: The elements whose text the model name was planted in, which must come back as Void.
VOIDED = {TITLE, SEGMENT_FILENAME, TRACK_NAME, CODEC_NAME, CHAPTERS, ATTACHMENTS, TAGS}


def expected_outline(original: tuple[EbmlElement, ...]) -> list[EbmlElement]:
    """The outline of `original` once voided: each voided element a Void of the same span, its
    children gone, and the Seek entry that pointed at the Tags voided with them."""
    seek_to_tags = [e for e in original if e.id == SEEK][2]
    expected: list[EbmlElement] = []
    voided_until = -1
    for element in original:
        if element.start < voided_until:
            continue
        if element.id in VOIDED or element == seek_to_tags:
            expected.append(EbmlElement(element.depth, VOID, element.start, element.end))
            voided_until = element.end
        else:
            expected.append(element)
    return expected


@pytest.mark.parametrize("unknown_sizes", [False, True])
def test_it_voids_every_text_element_of_a_webm_in_place(unknown_sizes):
    data = webm_with_secrets(unknown_sizes=unknown_sizes)
    assert data.count(SECRET) == 11
    inspected = inspect(data, "clip.webm")
    assert SECRET not in inspected.data
    assert len(inspected.data) == len(data)
    assert (inspected.content_type, inspected.duration) == ("video/webm", pytest.approx(2.0))
    assert filetype.guess(inspected.data).mime == "video/webm"
    original = webm_strip(data).outline
    segment = next(e for e in original if e.id == SEGMENT)
    assert [e.id for e in original if e.depth == 1 and e.start > segment.start] == [
        SEEK_HEAD, VOID, INFO, TRACKS, CHAPTERS, ATTACHMENTS, CLUSTER, CLUSTER, CUES, TAGS,
    ]  # fmt: skip
    assert list(webm_strip(inspected.data).outline) == expected_outline(original)


def test_it_keeps_the_clusters_and_cues_of_a_webm_byte_for_byte():
    data = webm_with_secrets()
    stored = inspect(data, "clip.webm").data
    for element in webm_strip(data).outline:
        if element.id in (CLUSTER, CUES, EBML_HEADER):
            assert stored[element.start : element.end] == data[element.start : element.end]


def test_it_keeps_the_mandatory_muxing_and_writing_apps_as_empty_strings():
    data = webm_with_secrets()
    stored = inspect(data, "clip.webm").data
    apps = [e for e in webm_strip(stored).outline if e.id in (MUXING_APP, WRITING_APP)]
    assert len(apps) == 2
    for app in apps:
        payload = stored[app.start : app.end][3:]  # two-byte ID, one-byte size
        assert payload == bytes(len(payload))


def test_it_stores_an_already_clean_webm_unchanged():
    stored = inspect(webm_with_secrets(), "clip.webm").data
    assert inspect(stored, "clip.webm").data == stored


def test_it_recomputes_the_crc_of_an_element_it_changed():
    stored = inspect(webm_with_secrets(crc=True), "clip.webm").data
    info_element = next(e for e in webm_strip(stored).outline if e.id == INFO)
    crc_element = stored[info_element.start + 5 : info_element.start + 11]  # after ID and size
    assert crc_element[:2] == b"\xbf\x84"
    after_crc = stored[info_element.start + 11 : info_element.end]
    assert int.from_bytes(crc_element[2:], "little") == zlib.crc32(after_crc) & 0xFFFFFFFF


def xiph_laced(*packets: bytes) -> bytes:
    lacing = b"".join(b"\xff" * (len(p) // 255) + bytes([len(p) % 255]) for p in packets[:-1])
    return bytes([len(packets) - 1]) + lacing + b"".join(packets)


def vorbis_comment(vendor: bytes, *comments: bytes) -> bytes:
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    body += b"".join(struct.pack("<I", len(c)) + c for c in comments)
    return b"\x03vorbis" + body + b"\x01"


def test_it_empties_the_vorbis_comments_inside_a_webm_track_header():
    identification = b"\x01vorbis" + bytes(23)
    comment = vorbis_comment(b"Lavf " + SECRET, b"ENCODER=" + SECRET)
    setup = b"\x05vorbis" + bytes(300)
    private = xiph_laced(identification, comment, setup)
    data = ebml_header() + el(SEGMENT, info(), track(b"A_VORBIS", private), cluster(0))
    stored = inspect(data, "clip.webm").data
    assert SECRET not in stored
    start = data.index(private)
    assert stored[start : start + 3 + len(identification)] == private[: 3 + len(identification)]
    comment_start = start + 3 + len(identification)
    assert stored[comment_start : comment_start + len(comment)] == EMPTY_VORBIS_COMMENT + bytes(
        len(comment) - len(EMPTY_VORBIS_COMMENT)
    )
    assert stored[comment_start + len(comment) :].startswith(setup)


def test_it_turns_the_flac_comments_inside_a_webm_track_header_into_padding():
    comment = vorbis_comment(b"libFLAC " + SECRET, b"ENCODER=" + SECRET)[7:-1]
    private = b"fLaC" + flac_block(0, STREAMINFO) + flac_block(4, comment, last=True)
    data = ebml_header() + el(SEGMENT, info(), track(b"A_FLAC", private), cluster(0))
    stored = inspect(data, "clip.webm").data
    assert SECRET not in stored
    start = data.index(private)
    padding = flac_block(1, bytes(len(comment)), last=True)
    assert stored[start : start + len(private)] == private[: -len(padding)] + padding


def test_it_voids_unknown_elements_at_the_top_of_the_segment():
    unknown = el(0x1F000001, SECRET)
    data = ebml_header() + el(SEGMENT, info(), unknown, cluster(0))
    assert SECRET not in inspect(data, "clip.webm").data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (ebml_header() + el(SEGMENT, info())[:-5], "the Segment element declares 1.* past the end"),
        (
            ebml_header() + el(SEGMENT, el(INFO, el(TITLE, SECRET), unknown_size=True)),
            "the Info element has an unknown size",
        ),
        (
            ebml_header() + el(SEGMENT, info()) + b"\x00\x00\x00",
            r"invalid element ID \(byte 0x00\)",
        ),
        (ebml_header() + el(SEGMENT, el(0x0F_FF_FF_FF_FF, b"")), "longer than 4 bytes"),
    ],
    ids=["truncated", "unknown-size-info", "garbage-after", "long-id"],
)
def test_it_refuses_a_webm_it_cannot_walk(data, match):
    error = refused(data, "clip.webm", f"media\\[0\\]: the WebM structure cannot be read.*{match}")
    assert "may be truncated or damaged" in error.message


# -- MP4 -----------------------------------------------------------------------------------------


def box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, *parts: bytes, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", flags), *parts)


def handler(handler_type: bytes, name: bytes) -> bytes:
    return full_box(b"hdlr", bytes(4), handler_type, bytes(12), name + b"\x00")


def visual_sample_entry(compressor: bytes) -> bytes:
    name = bytes([len(compressor)]) + compressor
    return box(
        b"avc1",
        bytes(6) + struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(4) + b"SECR" + bytes(8),  # pre_defined and reserved: a QuickTime vendor code
        struct.pack(">HHII", 16, 16, 0x480000, 0x480000),
        bytes(4) + struct.pack(">H", 1),  # reserved, frame_count
        name + bytes(32 - len(name)),
        struct.pack(">Hh", 0x18, -1),
    )


SAMPLE = bytes(range(64))


def mp4_with_secrets(*, mdat_offset: int = 0) -> bytes:
    """An MP4 of one video track with the secret in every place MP4 keeps text; its one sample
    sits in the mdat, at the offset its stco gives."""
    stbl = box(
        b"stbl",
        full_box(b"stsd", struct.pack(">I", 1), visual_sample_entry(SECRET)),
        full_box(b"stts", struct.pack(">III", 1, 1, 2000)),
        full_box(b"stsc", struct.pack(">IIII", 1, 1, 1, 1)),
        full_box(b"stsz", struct.pack(">III", 0, 1, len(SAMPLE))),
        full_box(b"stco", struct.pack(">II", 1, mdat_offset)),
    )
    references = full_box(b"url ", b"https://models.example/" + SECRET + b"\x00")
    references += full_box(b"urn ", SECRET + b"\x00", b"\x00")
    dinf = box(b"dinf", full_box(b"dref", struct.pack(">I", 2), references))
    minf = box(b"minf", full_box(b"vmhd", bytes(8), flags=1), dinf, stbl)
    mdia = box(
        b"mdia",
        full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1000, 2000, 0x55C4, 0)),
        handler(b"vide", SECRET),
        minf,
    )
    tkhd = full_box(b"tkhd", struct.pack(">IIIII", 0, 0, 1, 0, 2000), bytes(60), flags=3)
    trak = box(b"trak", tkhd, mdia, box(b"udta", box(b"name", SECRET)))
    ilst = box(b"ilst", box(b"\xa9too", box(b"data", struct.pack(">II", 1, 0), SECRET)))
    itunes = box(b"udta", full_box(b"meta", handler(b"mdir", b""), ilst))
    quicktime_meta = full_box(b"meta", handler(b"mdta", b""), box(b"keys", SECRET))
    mvhd = full_box(b"mvhd", struct.pack(">IIII", 0, 0, 1000, 2000), bytes(80))
    moov = box(b"moov", mvhd, trak, itunes, quicktime_meta)
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    xmp = box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac"), b"<xmp>" + SECRET)
    event = full_box(b"emsg", b"urn:made-by:" + SECRET + b"\x00", b"v\x00", bytes(16), SECRET)
    head = ftyp + moov + xmp + box(b"free", SECRET) + box(b"Xtra", SECRET) + event
    return head + box(b"mdat", SAMPLE)


def mp4_sample_offset(data: bytes) -> int:
    return data.index(b"mdat") + 4


def test_it_blanks_every_text_box_of_an_mp4_in_place():
    draft = mp4_with_secrets()
    data = mp4_with_secrets(mdat_offset=mp4_sample_offset(draft))
    assert data.count(SECRET) == 12
    assert mutagen.mp4.MP4(io.BytesIO(data)).tags["\xa9too"] == [SECRET.decode()]
    inspected = inspect(data, "clip.mp4")
    assert SECRET not in inspected.data
    assert b"SECR" not in inspected.data
    assert len(inspected.data) == len(data)
    assert (inspected.content_type, inspected.duration) == ("video/mp4", pytest.approx(2.0))
    assert filetype.guess(inspected.data).mime == "video/mp4"
    parsed = mutagen.mp4.MP4(io.BytesIO(inspected.data))
    assert not parsed.tags
    # The chunk offset still points at the sample, unchanged.
    offset = struct.unpack(">I", inspected.data[inspected.data.index(b"stco") + 12 :][:4])[0]
    assert inspected.data[offset : offset + len(SAMPLE)] == SAMPLE


def test_it_keeps_the_mp4_boxes_playback_reads_and_their_order():
    data = mp4_with_secrets()
    stored = inspect(data, "clip.mp4").data

    def top_level(blob: bytes) -> list[bytes]:
        kinds, pos = [], 0
        while pos < len(blob):
            size = struct.unpack(">I", blob[pos : pos + 4])[0]
            kinds.append(blob[pos + 4 : pos + 8])
            pos += size
        return kinds

    assert top_level(data) == [b"ftyp", b"moov", b"uuid", b"free", b"Xtra", b"emsg", b"mdat"]
    assert top_level(stored) == [b"ftyp", b"moov", b"free", b"free", b"free", b"free", b"mdat"]
    for kind in (b"mvhd", b"tkhd", b"mdhd", b"stts", b"stsc", b"stsz", b"stco", b"mdat"):
        start = data.index(kind) - 4
        size = struct.unpack(">I", data[start : start + 4])[0]
        assert stored[start : start + size] == data[start : start + size]
    assert stored.count(b"hdlr") == 1  # the track's; the ones inside udta and meta are zeros
    hdlr = stored.index(b"hdlr")
    assert stored[hdlr + 12 : hdlr + 16] == b"vide"


def test_it_accepts_an_mp4_whose_mdat_runs_to_the_end_of_the_file():
    data = mp4_with_secrets()
    mdat = data.rindex(b"mdat") - 4
    data = data[:mdat] + bytes(4) + data[mdat + 4 :]  # size 0: to the end of the file
    assert SECRET not in inspect(data, "clip.mp4").data


@pytest.mark.parametrize(
    ("cut", "match"),
    [
        (lambda d: d[:-10], "past the end of its parent"),
        (lambda d: d + b"\x00\x00\x00", "a box header runs past the end"),
        (lambda d: b"\x00\x00\x00\x04" + d[4:], "'ftyp' declares 4 bytes, less than its header"),
    ],
    ids=["truncated", "trailing-bytes", "box-smaller-than-its-header"],
)
def test_it_refuses_an_mp4_it_cannot_walk(cut, match):
    data = cut(mp4_with_secrets())
    refused(data, "clip.mp4", f"media\\[0\\]: the MP4 structure cannot be read.*{match}")


# -- WAV -----------------------------------------------------------------------------------------


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, pos = [], 12
    while pos < len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        found.append((chunk_id, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return found


def id3_tag(title: bytes) -> bytes:
    """An ID3v2.3 tag with a TIT2 frame."""
    text = b"\x00" + title
    frame = b"TIT2" + struct.pack(">I", len(text)) + b"\x00\x00" + text
    size = len(frame)
    synchsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + synchsafe + frame


def metadata_chunks() -> list[bytes]:
    info = b"INFO" + chunk(b"INAM", SECRET) + chunk(b"ISFT", SECRET)
    return [
        chunk(b"LIST", info),
        chunk(b"id3 ", id3_tag(SECRET)),
        chunk(b"bext", SECRET.ljust(256, b"\x00") + bytes(346)),
        chunk(b"iXML", b"<BWFXML><NOTE>" + SECRET + b"</NOTE></BWFXML>"),
        chunk(b"cue ", struct.pack("<I", 0)),
        chunk(b"JUNK", SECRET),
    ]


def test_it_keeps_only_fmt_and_data_of_a_pcm_wav():
    fmt, samples = wav_chunks(wav_bytes(0.5))
    data = riff(chunk(*fmt), *metadata_chunks()[:3], chunk(*samples), *metadata_chunks()[3:])
    assert data.count(SECRET) == 6
    inspected = inspect(data, "a.wav")
    assert SECRET not in inspected.data
    assert wav_chunks(inspected.data) == [fmt, samples]
    assert inspected.duration == pytest.approx(0.5)
    assert mutagen.wave.WAVE(io.BytesIO(inspected.data)).info.length == pytest.approx(0.5)


def test_it_keeps_fmt_fact_and_data_of_a_float_wav():
    samples = struct.pack("<400f", *([0.25] * 400))
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)  # IEEE float, mono, 8 kHz
    data = riff(
        chunk(b"fmt ", fmt),
        chunk(b"fact", struct.pack("<I", 400)),
        *metadata_chunks(),
        chunk(b"data", samples),
    )
    inspected = inspect(data, "a.wav")
    assert SECRET not in inspected.data
    assert wav_chunks(inspected.data) == [
        (b"fmt ", fmt),
        (b"fact", struct.pack("<I", 400)),
        (b"data", samples),
    ]
    assert inspected.duration == pytest.approx(0.05)
    assert filetype.guess(inspected.data).mime == "audio/x-wav"


def test_it_keeps_the_pad_byte_after_an_odd_data_chunk():
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)  # 8-bit mono
    samples = bytes(range(101))
    data = riff(chunk(b"fmt ", fmt), chunk(b"data", samples), metadata_chunks()[0])
    stored = inspect(data, "a.wav").data
    assert wav_chunks(stored) == [(b"fmt ", fmt), (b"data", samples)]
    assert len(stored) == 12 + 8 + 16 + 8 + 102
    assert struct.unpack("<I", stored[4:8])[0] == len(stored) - 8


def test_it_takes_a_streamed_wav_whose_sizes_were_never_filled_in():
    fmt, (_, samples) = wav_chunks(wav_bytes(0.25))
    data = b"RIFF\xff\xff\xff\xffWAVE" + chunk(*fmt) + metadata_chunks()[0]
    data += b"data\xff\xff\xff\xff" + samples
    inspected = inspect(data, "a.wav")
    assert SECRET not in inspected.data
    assert wav_chunks(inspected.data) == [fmt, (b"data", samples)]
    assert inspected.duration == pytest.approx(0.25)


def test_it_drops_what_follows_the_riff_chunk():
    id3v1 = b"TAG" + SECRET.ljust(125, b"\x00")
    inspected = inspect(wav_bytes(0.1) + id3v1, "a.wav")
    assert SECRET not in inspected.data
    assert inspected.data == wav_bytes(0.1)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (riff(chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))), "no 'data' chunk"),
        (riff(chunk(b"data", bytes(8))), "no 'fmt ' chunk"),
        (wav_bytes()[:12] + b"LIST\xff\xff\xff\x00INFO" + wav_bytes()[12:], "'LIST' at byte 12"),
        (riff(chunk(b"fmt ", bytes(16)), chunk(b"data", bytes(8))), "0 channels at 0 Hz"),
    ],
    ids=["no-data", "no-fmt", "chunk-past-the-end", "empty-fmt"],
)
def test_it_refuses_a_wav_it_cannot_walk(data, match):
    refused(data, "a.wav", match)


# -- MP3 -----------------------------------------------------------------------------------------

MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III, 128 kbps, 44.1 kHz


def ape_tag(value: bytes) -> bytes:
    buffer = io.BytesIO()
    tag = mutagen.apev2.APEv2()
    tag["Title"] = value.decode()
    tag.save(buffer)
    return buffer.getvalue()


def test_it_removes_stacked_id3v2_ape_and_id3v1_tags_from_an_mp3():
    id3v1 = b"TAG" + SECRET.ljust(125, b"\x00")
    data = id3_tag(SECRET) + id3_tag(SECRET) + MP3_FRAME * 40 + ape_tag(SECRET) + id3v1
    assert data.count(SECRET) == 4
    inspected = inspect(data, "song.mp3")
    assert SECRET not in inspected.data
    assert inspected.data == MP3_FRAME * 40
    assert inspected.duration == pytest.approx(40 * 1152 / 44100, rel=0.05)
    assert mutagen.mp3.MP3(io.BytesIO(inspected.data)).tags is None


def test_it_refuses_an_mp3_without_audio_frames():
    refused(id3_tag(SECRET) + b"\xff\xfb" + bytes(30), "song.mp3", "no MPEG audio frames")


# -- OGG -----------------------------------------------------------------------------------------


def ogg_page(packet: bytes, *, sequence: int, granule: int, serial: int = 7) -> bytes:
    page = OggPage()
    page.packets, page.sequence, page.position, page.serial = [packet], sequence, granule, serial
    page.first, page.last = sequence == 0, sequence == 2
    return page.write()


def opus_stream(serial: int = 7) -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    comments = struct.pack("<I", len(SECRET)) + SECRET + struct.pack("<I", 1)
    comments += struct.pack("<I", 8 + len(SECRET)) + b"ENCODER=" + SECRET
    tags = b"OpusTags" + comments + b"\x01" + SECRET  # binary data mutagen would keep
    return (
        ogg_page(head, sequence=0, granule=0, serial=serial)
        + ogg_page(tags, sequence=1, granule=0, serial=serial)
        + ogg_page(b"\xf8\xff\xfe", sequence=2, granule=96312, serial=serial)
    )


def test_it_empties_the_comments_and_vendor_of_an_ogg_opus_file():
    data = opus_stream()
    assert mutagen.oggopus.OggOpus(io.BytesIO(data)).tags.vendor == SECRET.decode()
    inspected = inspect(data + b"TAG" + SECRET, "voice.ogg")
    assert SECRET not in inspected.data
    parsed = mutagen.oggopus.OggOpus(io.BytesIO(inspected.data))
    assert (parsed.tags.vendor, list(parsed.tags)) == ("", [])
    assert inspected.duration == pytest.approx(2.0)
    assert inspected.data.endswith(ogg_page(b"\xf8\xff\xfe", sequence=2, granule=96312))


def test_it_refuses_an_ogg_file_of_two_streams():
    refused(opus_stream(7) + opus_stream(8), "voice.ogg", "more than one stream")


def test_it_refuses_an_ogg_file_that_is_not_audio():
    theora = ogg_page(b"\x80theora" + bytes(40), sequence=0, granule=0)
    refused(theora, "clip.ogg", "does not hold Vorbis, Opus, FLAC or Speex audio")


def test_it_refuses_an_ogg_file_with_bytes_between_pages():
    data = opus_stream()
    second = data.index(b"OggS", 4)
    refused(data[:second] + SECRET + data[second:], "voice.ogg", "no Ogg page at byte")


# -- FLAC ----------------------------------------------------------------------------------------

STREAMINFO = struct.pack(">HH", 4096, 4096) + bytes(6)
STREAMINFO += ((44100 << 44) | (15 << 36) | 88200).to_bytes(8) + bytes(16)  # mono 16-bit, 2 s
FLAC_FRAME = b"\xff\xf8\x69\x08\x00\x17" + bytes(40)


def flac_block(block_type: int, body: bytes, *, last: bool = False) -> bytes:
    return bytes([block_type | (0x80 if last else 0)]) + len(body).to_bytes(3) + body


def flac_with_secrets() -> bytes:
    comment = vorbis_comment(SECRET, b"TITLE=" + SECRET)[7:-1]  # FLAC's has no prefix or bit
    picture = struct.pack(">II", 3, 9) + b"image/png" + struct.pack(">I", len(SECRET)) + SECRET
    picture += bytes(16) + struct.pack(">I", 4) + b"\x89PNG"
    return (
        b"fLaC"
        + flac_block(0, STREAMINFO)
        + flac_block(4, comment)
        + flac_block(6, picture)
        + flac_block(2, b"APPL" + SECRET)
        + flac_block(1, bytes(8), last=True)
        + FLAC_FRAME
    )


def test_it_turns_flac_metadata_blocks_into_padding_and_drops_trailing_tags():
    data = flac_with_secrets() + ape_tag(SECRET) + b"TAG" + SECRET.ljust(125, b"\x00")
    assert data.count(SECRET) == 6
    inspected = inspect(data, "a.flac")
    assert SECRET not in inspected.data
    assert inspected.duration == pytest.approx(2.0)
    parsed = mutagen.flac.FLAC(io.BytesIO(inspected.data))
    assert parsed.tags is None
    assert parsed.pictures == []
    assert [block.code for block in parsed.metadata_blocks] == [0, 1, 1, 1, 1]
    assert len(inspected.data) == len(flac_with_secrets())
    assert inspected.data.endswith(FLAC_FRAME)
    assert filetype.guess(inspected.data).mime == "audio/x-flac"


def test_it_refuses_a_flac_whose_block_lies_about_its_size():
    data = flac_with_secrets()
    padding = data.index(b"\x81\x00\x00\x08")  # the last block: 8 bytes of padding
    broken = data[:padding] + b"\x81\x00\x00\x04" + data[padding + 4 :]
    refused(broken, "a.flac", "no FLAC audio frame where the metadata ends")


# -- Through the API -----------------------------------------------------------------------------


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def submit(api, leaderboard, media):
    return api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/",
        {"name": "model-x", "prompts": PROMPTS, "media": media},
        format="multipart",
    )


@pytest.mark.django_db
def test_it_stores_video_without_the_model_name(api, owner):
    board = make_leaderboard(owner)
    media = [
        SimpleUploadedFile("a.webm", webm_with_secrets(unknown_sizes=True)),
        SimpleUploadedFile("b.webm", webm_with_secrets(crc=True)),
    ]
    response = submit(api, board, media)
    assert response.status_code == 201, response.content
    files = stored_files()
    assert len(files) == 2
    assert not any(SECRET in path.read_bytes() for path in files)
    assert set(Output.objects.values_list("kind", flat=True)) == {"video"}


@pytest.mark.django_db
def test_it_refuses_a_model_whose_second_file_cannot_be_walked_and_stores_nothing(api, owner):
    board = make_leaderboard(owner)
    media = [
        SimpleUploadedFile("a.webm", webm_with_secrets()),
        SimpleUploadedFile("b.webm", webm_with_secrets()[:-7]),
    ]
    response = submit(api, board, media)
    assert response.status_code == 400
    body = response.json()
    assert (body["field"], body["code"]) == ("media[1]", "unreadable_structure")
    assert "the WebM structure cannot be read" in body["detail"]
    assert Model.objects.count() == 0
    assert stored_files() == []


@pytest.mark.parametrize("error", [IndexError, struct.error, KeyError])
def test_it_refuses_an_ogg_file_mutagen_trips_over(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    # Fuzzed Opus headers made mutagen raise IndexError, not MutagenError: still a 400.
    def trip(*args: object, **kwargs: object) -> None:
        raise error("bad header")

    monkeypatch.setattr(mutagen, "File", trip)
    refused(opus_stream(), "voice.ogg", "cannot be read")
