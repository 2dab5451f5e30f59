"""Parsing with lxml for the fast readers, as safely as defusedxml and only where lxml
reads the document exactly as expat (the reference parsers' parser) does.

:func:`parse_plain_xml` returns None, and the caller reads the file through its
reference path (defusedxml, which also gives every error message), for:

- any ``<!`` markup declaration (``<!DOCTYPE``, ``<!ENTITY``...), found by a byte scan
  before lxml sees the file: no entity is ever declared, let alone expanded, so XXE,
  billion laughs and quadratic blow-up all go to defusedxml, which refuses them at
  once; a document type lxml still finds is refused too;
- an encoding whose ASCII bytes might not be ASCII characters (UTF-16/32, EBCDIC, and
  any declared encoding but UTF-8 and Latin-1, which both parsers decode alike), a
  UTF-8 byte order mark with another declared encoding, an XML declaration other than
  version 1.0 (which expat alone accepts);
- a non-ASCII byte inside markup: lxml accepts the element and attribute names of XML
  1.0 5th edition, expat only those of the 4th;
- anything lxml does not parse.

The parser is built with ``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False`` in any case. Comments and processing instructions are dropped, as
ElementTree drops them, and so is whitespace-only text between elements: callers
must treat blank text as absent.
"""

from __future__ import annotations

import re

from lxml import etree

_BOM = b"\xef\xbb\xbf"
_DECLARATION_VERSION = re.compile(rb"""\bversion\s*=\s*["']([^"']*)["']""")
_DECLARATION_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")
#: Declared encodings read here: ASCII bytes are ASCII characters, and lxml and expat
#: decode every byte alike.
#: (Not "utf8": expat reads it through Python's codec one byte at a time and refuses any
#: multi-byte character; not "latin-1", which lxml does not know.)
_ASCII_SUPERSETS = frozenset({"utf-8", "iso-8859-1", "iso8859-1", "latin1"})
#: ``<!`` other than a comment or CDATA section: a DOCTYPE, ENTITY, ELEMENT...
_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
#: Markup holding a non-ASCII byte. lxml accepts the names of XML 1.0 5th edition and
#: expat those of the 4th, so a non-ASCII element or attribute name is left to expat.
_NON_ASCII_MARKUP = re.compile(rb"<[^>]*[\x80-\xff]")


def plain_xml(data: bytes) -> bool:
    """True when lxml may parse ``data`` (see the module docstring)."""
    bom = data.startswith(_BOM)
    head = data[len(_BOM) : len(_BOM) + 512] if bom else data[:512]
    if head[:1] not in (b"<", b" ", b"\t", b"\r", b"\n") or head[1:2] == b"\x00":
        return False  # UTF-16/32 or EBCDIC: ASCII bytes would not be ASCII characters
    if head.startswith(b"<?xml"):
        declaration = head[: head.find(b"?>")]
        version = _DECLARATION_VERSION.search(declaration)
        encoding = _DECLARATION_ENCODING.search(declaration)
        if b"?>" not in head or version is None or version.group(1) != b"1.0":
            return False
        if encoding is not None:
            name = encoding.group(1).decode("ascii", "replace").lower()
            if name not in _ASCII_SUPERSETS or (bom and name != "utf-8"):
                return False
    if _MARKUP_DECLARATION.search(data) is not None:
        return False
    return data.isascii() or _NON_ASCII_MARKUP.search(data) is None


def hardened_parser(**options: object) -> etree.XMLParser:
    """An lxml parser that never loads a DTD, resolves an entity, uses the network or
    lifts libxml2's size limits, with any other ``options``."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        **options,
    )


def parse_plain_xml(data: bytes) -> etree._Element | None:
    """The root element, or None when lxml must not or cannot parse ``data``."""
    if not plain_xml(data):
        return None
    parser = hardened_parser(
        dtd_validation=False,
        # ElementTree drops comments and processing instructions (the text around them
        # joins); lxml then does too. Whitespace-only text between elements is dropped
        # (a smaller tree, faster to walk): callers treat blank text as absent.
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError):
        return None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None
    return root
