"""Hardened XML parsing shared by the GPX, TCX and OSM readers.

Files come from strangers, so no DTD, entity declaration or external reference is ever
honoured: defusedxml refuses them before any expansion or fetch can happen (XXE,
billion laughs, quadratic blow-up).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from ..errors import TrackError


def parse_xml(data: bytes, path: str | Path, *, what: str = "XML") -> ET.Element:
    """Parse ``data`` safely and return the root element.

    Raises:
        TrackError: not well-formed (with the line and column), or a DTD / entity /
            external reference that is refused for safety.
    """
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
        reason = str(exc).split(":")[0]
        raise TrackError(
            f"not well-formed {what} ({reason})",
            path=path,
            where=f"line {line}, column {col}" if line else None,
            hint="the file may be truncated or not a track file; export it again",
        ) from None


def local_name(tag: str) -> str:
    """``{http://...}trkpt`` -> ``trkpt``; prefixes and namespaces do not matter."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.rsplit(":", 1)[-1]
