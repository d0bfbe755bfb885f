"""Reading the PDFs the platform writes, enough for tests: the inflated streams, the title."""

import re
import zlib


def pdf_streams(content: bytes) -> bytes:
    """The file with every compressed stream inflated and appended."""
    inflated = []
    # The end-of-line before « endstream » is left to zlib, which ignores bytes after its
    # stream: a stream whose last byte is \r would otherwise lose it one run in 256.
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            inflated.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            continue
    return content + b"\n".join(inflated)


def pdf_title(content: bytes) -> str:
    match = re.search(rb"/Title\s*<feff([0-9a-f]+)>", pdf_streams(content))
    assert match, "the PDF has no title"
    return bytes.fromhex(match.group(1).decode()).decode("utf-16-be")
