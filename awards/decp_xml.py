"""The DECP records as XML, per the official XSD (``awards/schemas/schema_decp_v2.0.2.xsd``).

The XML says what the JSON says, element for element: ``<marches>`` holds one ``<marche>``
per record (no ``marche`` list wrapper: the XSD's ``marches`` is a sequence of them); an
object becomes an element with its fields as children; a list of objects (« titulaires »,
« modifications ») becomes its element holding each item's single child (``<titulaire>``,
``<modification>``); a list of values (« technique ») repeats its element. Booleans are
written ``true``/``false``, numbers as decimals.

Where the two formats differ (as published): the XSD is version 2.0.2 and the JSON schema
2.0.3; the XSD names a subcontracting modification ``modificationActesSousTraitance``
where the JSON says ``modificationActeSousTraitance`` (the platform writes neither); the
XSD also accepts « oui »/« non »/0/1 for booleans, and an empty ``origineUE``. The fields
the platform writes have the same names and values in both.
"""

from functools import lru_cache

from lxml import etree

from awards.decp import XSD_PATH


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text if "e" not in text else f"{value:f}"
    return str(value)


def _add(parent, name: str, value) -> None:
    if isinstance(value, dict):
        element = etree.SubElement(parent, name)
        for key, inner in value.items():
            _add(element, key, inner)
    elif isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            container = etree.SubElement(parent, name)
            for item in value:
                for key, inner in item.items():
                    _add(container, key, inner)
        else:
            for item in value:
                _add(parent, name, item)
    elif value is not None:
        etree.SubElement(parent, name).text = _text(value)


def decp_xml(records: list[dict]) -> bytes:
    root = etree.Element("marches")
    for record in records:
        _add(root, "marche", record)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@lru_cache(maxsize=1)
def decp_xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def decp_xml_errors(content: bytes) -> list[str]:
    """What the XSD refuses in this document (empty: valid)."""
    schema = decp_xml_schema()
    if schema.validate(etree.fromstring(content)):
        return []
    return [f"{error.line}: {error.message}" for error in schema.error_log]
