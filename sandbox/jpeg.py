"""Structural JPEG check for the face-match stand-in.

Walks the marker segments of a baseline or progressive JPEG (ITU T.81 Annex B): ``FFD8``
(SOI), then segments ``FF xx`` + 2-byte big-endian length, until ``FFDA`` (start of scan).
A frame header (SOF0-SOF15 except DHT ``C4``, JPG ``C8`` and DAC ``CC``) must come before
the scan and gives the height and width; the data must end with ``FFD9`` (EOI). Pure
function over untrusted bytes: it raises :class:`JpegError`, never anything else.
"""

from __future__ import annotations

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class JpegError(ValueError):
    """The bytes are not a well-formed JPEG."""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Return ``(width, height)`` of a JPEG or raise :class:`JpegError`."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        raise JpegError("does not start with the JPEG SOI marker")
    if data[-2:] != b"\xff\xd9":
        raise JpegError("does not end with the JPEG EOI marker")
    pos = 2
    size: tuple[int, int] | None = None
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise JpegError("marker expected")
        marker = data[pos + 1]
        pos += 2
        if marker == 0xFF:  # fill byte
            pos -= 1
            continue
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9):
            raise JpegError("unexpected SOI/EOI before the scan")
        if pos + 2 > len(data):
            raise JpegError("truncated segment length")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise JpegError("segment length out of range")
        if marker in _SOF:
            if length < 8:
                raise JpegError("frame header too short")
            height = int.from_bytes(data[pos + 3 : pos + 5], "big")
            width = int.from_bytes(data[pos + 5 : pos + 7], "big")
            if width == 0 or height == 0:
                raise JpegError("zero image dimension")
            size = (width, height)
        if marker == 0xDA:
            if size is None:
                raise JpegError("scan before any frame header")
            return size
        pos += length
