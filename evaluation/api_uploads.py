"""Multipart parsing for uploads that refuses file names trying to be paths, instead of fixing them,
and the JSON documents that multipart requests carry as text parts.

Django's multipart parser quietly cuts `../../etc/evil.png` down to `evil.png` and drops NUL and
other non-printable characters (a name it cannot fix, such as `..`, loses the whole file), so the
media checks never see what the client sent. A client that sends such a name is broken or
probing; it gets a 400 naming the file's field, and nothing is stored.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser, get_encoding

from config.errors import Invalid
from config.validation import json_depth_check, json_too_deep
from evaluation.media import bad_filename


class _NameKeepingParser(DjangoMultiPartParser):
    """Django's parser, remembering each file name it would have had to change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: dict[str, str] = {}

    def sanitize_file_name(self, file_name: str) -> str | None:
        sanitized = super().sanitize_file_name(file_name)
        if sanitized is not None and sanitized == html.unescape(file_name):
            return sanitized
        # A stand-in that survives UploadedFile's own clean-up, so the file's field and position
        # can be named once the whole body is parsed.
        stand_in = f"refused-{secrets.token_hex(16)}"
        self.refused[stand_in] = file_name
        return stand_in


def _refuse_bad_names(files: MultiValueDict, refused: dict[str, str]) -> None:
    """Raise the 400 for the first file whose name was a path, closing every upload first."""
    for field, uploads in files.lists():
        for index, upload in enumerate(uploads):
            if upload.name in refused:
                where = field if field.endswith("]") else f"{field}[{index}]"
                for _, others in files.lists():
                    for other in others:
                        other.close()
                raise bad_filename(refused[upload.name], where)


class UploadParser(MultiPartParser):
    """DRF's multipart parser, with file names that are paths or hold control characters refused.

    Parses exactly as `rest_framework.parsers.MultiPartParser` does otherwise.
    """

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> DataAndFiles:
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _NameKeepingParser(
                meta, stream, request.upload_handlers, get_encoding(parser_context)
            )
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        _refuse_bad_names(files, parser.refused)
        return DataAndFiles(data, files)


def json_part(raw: Any, *, field: str) -> Any:
    """The JSON document of the multipart text part `field`, or a 400 naming the part."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise json_too_deep(field) from None
    except (TypeError, ValueError) as exc:
        raise Invalid(f"{field}: not valid JSON ({exc})", field=field) from None
    return json_depth_check(value, field=field)
