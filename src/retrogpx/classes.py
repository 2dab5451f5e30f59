"""Which tagged map features are motor roads, foot-only ways, soft venues, hazards, and
the things a backward runner cannot see coming: bike ways, crowds, obstacles, private
ground.

Kept apart from :mod:`retrogpx.layers` (which needs shapely and pyproj) so that the
config can validate a ``[classes]`` section without loading the geometry stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

#: Venue class of ``leisure=track`` when its sport is one of ``venue_track_sports`` (an
#: athletics track); like the other classes, it is the OSM value.
ATHLETICS_TRACK = "track"
#: Properties retrogpx reads from a feature (besides those the tag lists name).
BASE_TAG_KEYS = (
    "highway", "leisure", "landuse", "natural", "sport", "name", "hazard", "area",
    "maxspeed", "lit", "surface", "tracktype", "incline",
)  # fmt: skip
#: Kinds a point (an OSM node) can be; ways and areas can be any kind.
POINT_KINDS = ("hazard", "obstacle", "poi", "crowd")
#: Kinds whose closed ways are areas (unless ``area=no``; an obstacle only when it is
#: not a barrier or a tree row: a fence round a field is a line, a pond an area).
AREA_KINDS = ("venue", "hazard", "crowd", "private", "obstacle")
#: ``foot=`` values that open private ground to people on foot.
FOOT_ALLOWED = ("yes", "designated", "permissive")
#: What ``maxspeed`` words mean, km/h (``walk``: a living street's walking pace;
#: ``none``: no limit, as on German motorways).
_SPEED_WORDS = {"walk": 7.0, "none": math.inf, "urban": 50.0, "rural": 100.0,
                "motorway": math.inf, "trunk": 100.0, "living_street": 7.0, "zone30": 30.0,
                "zone:30": 30.0, "bicycle_road": 30.0}  # fmt: skip
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|knots)?\s*$")


def parse_maxspeed(text: str | None) -> float | None:
    """A ``maxspeed`` value in km/h: ``50``, ``30 mph``, ``DE:urban``, ``none`` (inf),
    ``walk``; the highest of ``50;30``; None when it says nothing usable (``signals``)."""
    if not text:
        return None
    best: float | None = None
    for part in text.split(";"):
        value = part.strip().lower()
        found = _SPEED.match(value)
        speed: float | None
        if found:
            factor = {"mph": 1.609344, "knots": 1.852}.get(found.group(2) or "", 1.0)
            speed = float(found.group(1)) * factor
        else:
            speed = _SPEED_WORDS.get(value.rpartition(":")[2] if ":" in value else value)
        if speed is not None and (best is None or speed > best):
            best = speed
    return best


#: The ``key=value`` lists of :class:`LayerClasses`.
_TAG_LISTS = (
    "no_motor_tags", "bike_tags", "crowd_tags", "poi_tags", "obstacle_tags", "private_tags",
)  # fmt: skip
_INCLINE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(%|°)?\s*$")


def parse_incline(text: str | None) -> float | None:
    """An ``incline`` value as a grade in percent (``5%``, ``-10%``, ``3°``); None for
    ``up``/``down`` (steep, but how steep the map does not say) and anything else."""
    if not text:
        return None
    found = _INCLINE.match(text.strip())
    if not found:
        return None
    value = float(found.group(1))
    if found.group(2) == "°":
        return 100.0 * math.tan(math.radians(value))
    return value


def _entries(name: str, entries: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """``key=value`` entries (``key=*`` for any value but ``no``) as key -> values."""
    out: dict[str, set[str]] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not (sep and key.strip() and value.strip()):
            raise ConfigError(
                f"{name} entry '{entry}' is not key=value",
                hint="write it like motor_vehicle=no (key=* for any value)",
            )
        out.setdefault(key.strip(), set()).add(value.strip())
    return {k: frozenset(v) for k, v in out.items()}


def _match(tags: Mapping[str, str], table: Mapping[str, frozenset[str]]) -> str | None:
    """The value of the first tag ``table`` names (in its order), else None."""
    for key, values in table.items():
        value = tags.get(key)
        if value is not None and (value in values or ("*" in values and value != "no")):
            return value
    return None


@dataclass(frozen=True)
class LayerClasses:
    """Which tagged features count as what, as ``key=value`` lists a user may change.

    Defaults are GUIDANCE.md (row 2 and "Reading the venue like a runner"). A feature
    may be of several kinds: a shared cycleway is a foot way and a bike way; a
    pedestrian street a foot way and a crowded place; a private pitch a venue and
    private ground.

    - ``no_motor_tags``: a road with one of them carries no motor traffic and is filed
      with the foot-only ways;
    - ``bike_tags``: foot ways shared with bicycles (``shared_with_bikes``);
    - ``crowd_tags``: crowded places (``crowded``); ``poi_tags``: shops and cafés,
      crowded where they cluster;
    - ``obstacle_tags``: what blocks the line of sight or trips a runner (``obstacle``);
      ``key=*`` takes any value but ``no``;
    - ``private_tags``: private ground (``private``), unless ``foot=yes|designated|
      permissive`` opens it.
    """

    motor_roads: tuple[str, ...] = (
        "motorway", "trunk", "primary", "secondary", "tertiary",
        "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
        "unclassified", "residential", "living_street", "service",
    )  # fmt: skip
    foot_ways: tuple[str, ...] = (
        "footway", "path", "pedestrian", "track", "cycleway", "steps", "bridleway", "corridor",
    )  # fmt: skip
    no_motor_tags: tuple[str, ...] = ("motor_vehicle=no", "motorcar=no", "access=no")
    venue_leisure: tuple[str, ...] = ("park", "pitch", "recreation_ground")
    #: ``leisure=track`` is a venue only for these sports (it also marks cycling and
    #: horse tracks).
    venue_track_sports: tuple[str, ...] = ("athletics", "running")
    venue_landuse: tuple[str, ...] = ("grass", "meadow", "recreation_ground")
    venue_natural: tuple[str, ...] = ("grassland",)
    bike_tags: tuple[str, ...] = ("highway=cycleway", "bicycle=designated")
    crowd_tags: tuple[str, ...] = (
        "highway=pedestrian", "place=square", "amenity=marketplace", "leisure=playground",
        "railway=station", "railway=halt", "public_transport=station", "amenity=bus_station",
    )  # fmt: skip
    poi_tags: tuple[str, ...] = (
        "shop=*", "amenity=cafe", "amenity=restaurant", "amenity=fast_food", "amenity=bar",
        "amenity=pub", "amenity=biergarten", "amenity=ice_cream", "amenity=food_court",
    )  # fmt: skip
    obstacle_tags: tuple[str, ...] = (
        "barrier=*", "natural=tree", "natural=tree_row", "amenity=bench", "natural=water",
    )  # fmt: skip
    private_tags: tuple[str, ...] = ("access=private", "access=no", "foot=private", "foot=no")

    def __post_init__(self) -> None:
        for name in _TAG_LISTS:
            _entries(name, getattr(self, name))

    def _table(self, name: str) -> dict[str, frozenset[str]]:
        # Parsed on use: a frozen dataclass keeps no derived state (the cache key is
        # its fields), and these tables are a handful of entries.
        return _entries(name, getattr(self, name))

    @property
    def tag_keys(self) -> tuple[str, ...]:
        """Every property the classification looks at."""
        extra = [key for name in _TAG_LISTS for key in self._table(name)]
        return tuple(dict.fromkeys([*BASE_TAG_KEYS, *extra]))

    @property
    def osm_keys(self) -> tuple[str, ...]:
        """Keys of which a way or area needs one to be of any use."""
        extra = [
            key
            for name in ("crowd_tags", "poi_tags", "obstacle_tags", "private_tags")
            for key in self._table(name)
        ]
        return tuple(dict.fromkeys(["highway", "leisure", "landuse", "natural", "hazard", *extra]))

    @property
    def point_keys(self) -> tuple[str, ...]:
        """Keys of which a node needs one to be of any use (hazards, obstacles, crowds)."""
        extra = [
            key for name in ("crowd_tags", "poi_tags", "obstacle_tags") for key in self._table(name)
        ]
        return tuple(dict.fromkeys(["hazard", *extra]))

    def classify(
        self, tags: Mapping[str, str], *, hazard_file: bool = False
    ) -> list[tuple[str, str]]:
        """The ``(kind, class)`` pairs of one feature; empty when retrogpx does not use it.

        A feature may be of several kinds (a road tagged ``hazard=*`` is a road and a
        hazard). Every feature of a hazard file is a hazard, classed by its ``hazard``
        value.
        """
        hazard = (tags.get("hazard") or "").strip()
        if hazard_file:
            return [("hazard", hazard or "hazard")]
        found: list[tuple[str, str]] = []
        highway = tags.get("highway")
        road = False
        if highway in self.motor_roads:
            road = not self._no_motor(tags)
            found.append(("road" if road else "foot", highway))
        elif highway in self.foot_ways:
            found.append(("foot", highway))
        if found and found[0][0] == "foot" and _match(tags, self._table("bike_tags")):
            found.append(("bikes", str(highway)))
        venue = self.venue_class(tags)
        if venue is not None:
            found.append(("venue", venue))
        if hazard and hazard != "no":
            found.append(("hazard", hazard))
        for kind, name in (("crowd", "crowd_tags"), ("poi", "poi_tags"),
                           ("obstacle", "obstacle_tags")):  # fmt: skip
            value = _match(tags, self._table(name))
            if value is not None:
                found.append((kind, "barrier" if value == "yes" else value))
        if not road and self.is_private(tags):
            found.append(("private", venue or highway or _first_value(tags) or "private"))
        return found

    def is_private(self, tags: Mapping[str, str]) -> bool:
        """Private ground: a ``private_tags`` entry, unless ``foot=`` opens it."""
        if tags.get("foot") in FOOT_ALLOWED:
            return False
        return _match(tags, self._table("private_tags")) is not None

    def venue_class(self, tags: Mapping[str, str]) -> str | None:
        """The soft-venue class of a feature, or None."""
        leisure = tags.get("leisure")
        if leisure in self.venue_leisure:
            return leisure
        if leisure == "track":
            sports = {s.strip() for s in (tags.get("sport") or "").split(";")}
            if sports & set(self.venue_track_sports):
                return ATHLETICS_TRACK
        landuse = tags.get("landuse")
        if landuse in self.venue_landuse:
            return landuse
        natural = tags.get("natural")
        if natural in self.venue_natural:
            return natural
        return None

    def _no_motor(self, tags: Mapping[str, str]) -> bool:
        return _match(tags, self._table("no_motor_tags")) is not None


def _first_value(tags: Mapping[str, str]) -> str | None:
    for key in ("leisure", "landuse", "amenity"):
        if tags.get(key):
            return tags[key]
    return None
