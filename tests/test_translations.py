from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_the_english_catalogue_has_no_fuzzy_or_missing_translation():
    problems = []
    for block in CATALOGUE.read_text().split("\n\n")[1:]:  # the first block is the header
        lines = block.splitlines()
        if any(line.startswith("#, fuzzy") for line in lines):
            problems.append(block)
            continue
        text = "\n".join(lines)
        for marker in ("msgstr ", "msgstr[0] ", "msgstr[1] "):
            if marker in text:
                after = text.split(marker, 1)[1].split("\nmsg", 1)[0]
                if after.replace('"', "").replace("\n", "").strip() == "":
                    problems.append(block)
    assert problems == []
