"""The XML the track readers share: how a document from a stranger is parsed safely.

- :mod:`.defused`: the reference parse (defusedxml: any DTD, entity declaration or
  external reference refused), which gives every error message;
- :mod:`.hardened`: when and how lxml may parse a document instead, as safely and
  exactly as the reference parser;
- :mod:`.scan`: the tags of a plain document found with numpy over its bytes, for the
  scan paths; :mod:`.values`: numbers and dates read from those bytes;
  :mod:`.windows`: a large document read a window at a time, each window a document
  of its own.

The names other packages use (the map-layer readers among them) are re-exported here.
"""

from .defused import local_name, looks_like_html, parse_error_reason, parse_xml

__all__ = ["local_name", "looks_like_html", "parse_error_reason", "parse_xml"]
