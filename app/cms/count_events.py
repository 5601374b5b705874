"""A view or card click waiting to be counted, and its text form in Redis."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VIEW = "view"
CLICK = "click"
_CODES = {VIEW: "v", CLICK: "c"}
_KINDS = {code: kind for kind, code in _CODES.items()}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CountEvent:
    kind: str  # VIEW or CLICK
    article_id: int
    reader: str  # visitor_key / clicker_key: whose mark decides whether it counts
    at: datetime  # aware, UTC

    def encode(self) -> str:
        """`v|42|<microseconds since 1970>|<reader>`: exact to the microsecond (no float), the
        reader last so that any character it holds survives."""
        micros = (self.at - _EPOCH) // timedelta(microseconds=1)
        return f"{_CODES[self.kind]}|{self.article_id}|{micros}|{self.reader}"

    @classmethod
    def decode(cls, text: str | bytes) -> CountEvent:
        """The event `encode` wrote; ValueError for anything else."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        code, article_id, micros, reader = text.split("|", 3)
        if code not in _KINDS or not reader:
            raise ValueError(f"not a count event: {text[:80]!r}")
        return cls(_KINDS[code], int(article_id), reader, _EPOCH + timedelta(microseconds=int(micros)))
