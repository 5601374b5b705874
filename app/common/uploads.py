"""Reading an uploaded file without trusting its size."""
from __future__ import annotations

from werkzeug.datastructures import FileStorage


def read_limited(upload: FileStorage, limit: int) -> bytes | None:
    """The upload's bytes, reading one past `limit` at most (never the whole of a huge file into
    memory); None when it is larger than `limit`, so the caller raises its own error."""
    data = upload.stream.read(limit + 1)
    return None if len(data) > limit else data
