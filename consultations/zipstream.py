"""A ZIP archive written while it is sent: never the whole archive, nor a whole file, in memory.

``zipfile`` writes into a sink that cannot seek, so it puts each member's sizes and
CRC in a data descriptor after the data instead of going back to the header (and
ZIP64 records when a member is large). Each source is copied in pieces of
``CHUNK_SIZE`` and whatever the archive produced is handed on at once.
"""

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from consultations.calendar import PARIS

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ZipMember:
    name: str
    size: int
    modified: datetime
    open: Callable[[], IO[bytes]]


class _Sink(io.RawIOBase):
    """Write-only and not seekable: what is written waits here until drained."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _date_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = moment.astimezone(PARIS) if moment.tzinfo else moment
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def zip_stream(members: Iterable[ZipMember], *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=_date_time(member.modified))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            # The announced size lets zipfile choose ZIP64 records for a large member.
            info.file_size = member.size
            with member.open() as source, archive.open(info, mode="w") as target:
                while piece := source.read(chunk_size):
                    target.write(piece)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data
