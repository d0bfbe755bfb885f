"""French takes the singular for 0 and 1 (« 0 fichier », « 1 fichier », « 2 fichiers »):
the French catalogue carries that rule, which the source strings alone cannot (without a
catalogue, gettext treats 0 as plural)."""

from pathlib import Path

from django.template import Context, Template
from django.utils import translation
from django.utils.translation import ngettext

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def test_zero_takes_the_singular_in_french():
    with translation.override("fr"):
        assert ngettext("%(count)d jour", "%(count)d jours", 0) % {"count": 0} == "0 jour"
        assert ngettext("%(count)d jour", "%(count)d jours", 2) % {"count": 2} == "2 jours"
        template = Template(
            "{% load i18n %}{% blocktranslate count counter=n %}{{ counter }} fichier"
            "{% plural %}{{ counter }} fichiers{% endblocktranslate %}"
        )
        assert template.render(Context({"n": 0})) == "0 fichier"


def test_the_french_catalogue_has_every_plural_filled_and_the_french_rule():
    header, *blocks = CATALOGUE.read_text().split("\n\n")
    assert '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"' in header
    empty = []
    for block in blocks:
        if "msgid_plural" not in block:
            continue
        for marker in ("msgstr[0] ", "msgstr[1] "):
            after = block.split(marker, 1)[1].split("\nmsg", 1)[0]
            if after.replace('"', "").replace("\n", "").strip() == "":
                empty.append(block)
    assert empty == []
