"""Reading the PDFs the platform writes, enough for tests: the inflated streams, the title,
the text a reader sees."""

import io
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


def pdf_text(content: bytes) -> str:
    """The text a reader of the PDF sees: each page's glyphs mapped back through its fonts'
    ToUnicode tables (WeasyPrint writes one per font), spaces collapsed."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(content), strict=False)
    pages = []
    for number in range(int(reader.root["/Pages"]["/Count"])):
        page = reader.find_page_for_modification(number)[0].get_object()
        fonts = {}
        for name, font in page["/Resources"]["/Font"].items():
            cmap = font.get_object()["/ToUnicode"].get_object().data.split(b"endcodespacerange")[-1]
            fonts[name.lstrip("/")] = {
                source.lower().decode(): bytes.fromhex(target.decode()).decode("utf-16-be")
                for source, target in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", cmap)
            }
        contents = page["/Contents"].get_object()
        data = (
            b"".join(part.get_object().data for part in contents)
            if isinstance(contents, list)
            else contents.data
        )
        text, font = [], {}
        for token in re.finditer(rb"/(\w+) [\d.]+ Tf|\[(.*?)\] TJ|<([0-9a-fA-F]+)> Tj|\bET\b", data, re.S):
            if token.group(1):
                font = fonts.get(token.group(1).decode(), {})
            elif token.group(0) == b"ET":
                text.append(" ")
            else:
                for chunk in re.findall(rb"<([0-9a-fA-F]+)>", token.group(2) or b"<" + token.group(3) + b">"):
                    glyphs = chunk.decode().lower()
                    text.append("".join(font.get(glyphs[i : i + 4], "") for i in range(0, len(glyphs), 4)))
        pages.append("".join(text))
    return " ".join(" ".join(pages).split())
