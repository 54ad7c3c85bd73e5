"""JSON from clients, read with a bound on its nesting.

Python's json module recurses once per level: a body nested a thousand levels deep exhausts
the interpreter's stack (RecursionError, a 500) before any view sees it. No document this
server takes is nested more than a few levels, so anything deeper is refused as malformed.
"""

import io
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

JSON_MAX_DEPTH = 32

# A JSON string, escapes included: brackets inside one do not nest anything.
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeded(text: str, *, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether arrays and objects in `text` nest deeper than `limit` (without parsing it)."""
    depth = 0
    for bracket in BRACKET.findall(STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents nested deeper than JSON_MAX_DEPTH with a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read()
        # The Content-Type's charset, as DRF reads it; bytes.decode() takes text codecs only.
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (LookupError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        if json_depth_exceeded(text):
            raise ParseError(
                f"JSON parse error - arrays and objects nest deeper than {JSON_MAX_DEPTH} levels."
            )
        return super().parse(io.BytesIO(body), media_type, parser_context)
