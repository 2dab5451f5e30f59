"""Hardened XML parsing shared by the GPX, TCX and OSM readers.

Files come from strangers, so no DTD, entity declaration or external reference is ever
honoured: defusedxml refuses them before any expansion or fetch can happen (XXE,
billion laughs, quadratic blow-up).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from ...errors import TrackError

#: A web page: an optional BOM, XML declaration and comments, then ``<!DOCTYPE html``. A
#: download that fails often saves the site's login or error page instead; its doctype
#: would otherwise be refused as a DTD, which points the user at an attack instead.
#: (An ``<html>`` root without one parses, and is refused for its root element.)
_HTML_START = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<!doctype\s+html\b",
    re.IGNORECASE | re.DOTALL,
)
#: Expat error codes meaning the text stops before the document is complete: no element
#: found, unclosed token, partial character, unclosed CDATA section.
_ENDS_EARLY = frozenset({3, 5, 6, 20})


def looks_like_html(data: bytes) -> bool:
    """True when ``data`` starts like a web page (``<!DOCTYPE html>``)."""
    return _HTML_START.match(data[:4096]) is not None


def parse_error_reason(exc: ET.ParseError) -> str:
    """A short reason for a parse error; a file cut off says so in words."""
    if getattr(exc, "code", None) in _ENDS_EARLY:
        return "it ends in the middle"
    return str(exc).split(":")[0]


def parse_xml(data: bytes, path: str | Path, *, what: str = "XML") -> ET.Element:
    """Parse ``data`` safely and return the root element.

    Raises:
        TrackError: a web page, not well-formed (with the line and column), or a DTD /
            entity / external reference that is refused for safety.
    """
    if looks_like_html(data):
        raise TrackError(
            f"is a web page (HTML), not a {what} file",
            path=path,
            hint="the download saved a page (a login or error page?) instead of the file; "
            "download or export it again",
        )
    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise TrackError(
            "declares a DTD, which retrogpx refuses for safety (it can hide entity bombs "
            "or read local files)",
            path=path,
            hint=f"remove the <!DOCTYPE ...> line if this is a genuine {what} file",
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise TrackError(
            "declares XML entities or external references, refused for safety",
            path=path,
            hint=f"export the {what} file again from the watch or app",
        ) from None
    except (LookupError, ValueError) as exc:  # unknown or unusable declared encoding
        raise TrackError(
            f"declares an encoding that cannot be read ({exc})",
            path=path,
            hint=f"save the {what} file as UTF-8",
        ) from None
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        raise TrackError(
            f"not well-formed {what} ({parse_error_reason(exc)})",
            path=path,
            where=f"line {line}, column {col}" if line else None,
            hint="the file may be truncated or not a track file; export it again",
        ) from None


def local_name(tag: str) -> str:
    """``{http://...}trkpt`` -> ``trkpt``; prefixes and namespaces do not matter."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.rsplit(":", 1)[-1]
