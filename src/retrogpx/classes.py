"""Which tagged map features are motor roads, foot-only ways, soft venues and hazards.

Kept apart from :mod:`retrogpx.layers` (which needs shapely and pyproj) so that the
config can validate a ``[classes]`` section without loading the geometry stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

#: Venue class of ``leisure=track`` when its sport is one of ``venue_track_sports`` (an
#: athletics track); like the other classes, it is the OSM value.
ATHLETICS_TRACK = "track"
#: Properties retrogpx reads from a feature (besides those named in ``no_motor_tags``).
BASE_TAG_KEYS = (
    "highway", "leisure", "landuse", "natural", "sport", "name", "hazard", "area",
)  # fmt: skip


@dataclass(frozen=True)
class LayerClasses:
    """Which tagged features count as motor roads, foot-only ways and soft venues.

    Defaults are GUIDANCE.md, row 2. ``no_motor_tags`` entries are ``key=value``: a road
    with one of them carries no motor traffic and is filed with the foot-only ways.
    """

    motor_roads: tuple[str, ...] = (
        "motorway", "trunk", "primary", "secondary", "tertiary",
        "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
        "unclassified", "residential", "living_street", "service",
    )  # fmt: skip
    foot_ways: tuple[str, ...] = (
        "footway", "path", "pedestrian", "track", "cycleway", "steps", "bridleway", "corridor",
    )  # fmt: skip
    no_motor_tags: tuple[str, ...] = ("motor_vehicle=no", "motorcar=no")
    venue_leisure: tuple[str, ...] = ("park", "pitch", "recreation_ground")
    #: ``leisure=track`` is a venue only for these sports (it also marks cycling and
    #: horse tracks).
    venue_track_sports: tuple[str, ...] = ("athletics", "running")
    venue_landuse: tuple[str, ...] = ("grass", "meadow", "recreation_ground")
    venue_natural: tuple[str, ...] = ("grassland",)

    def __post_init__(self) -> None:
        for entry in self.no_motor_tags:
            key, sep, value = entry.partition("=")
            if not (sep and key.strip() and value.strip()):
                raise ConfigError(
                    f"no_motor_tags entry '{entry}' is not key=value",
                    hint="write it like motor_vehicle=no",
                )

    @property
    def tag_keys(self) -> tuple[str, ...]:
        """Every property the classification looks at."""
        extra = tuple(e.partition("=")[0].strip() for e in self.no_motor_tags)
        return tuple(dict.fromkeys(BASE_TAG_KEYS + extra))

    @property
    def osm_keys(self) -> tuple[str, ...]:
        """Keys of which a way or area needs one to be of any use."""
        return ("highway", "leisure", "landuse", "natural", "hazard")

    def classify(
        self, tags: Mapping[str, str], *, hazard_file: bool = False
    ) -> list[tuple[str, str]]:
        """The ``(kind, class)`` pairs of one feature; empty when retrogpx does not use it.

        A feature may be of two kinds (a road tagged ``hazard=*`` is a road and a hazard).
        Every feature of a hazard file is a hazard, classed by its ``hazard`` value.
        """
        hazard = (tags.get("hazard") or "").strip()
        if hazard_file:
            return [("hazard", hazard or "hazard")]
        found: list[tuple[str, str]] = []
        highway = tags.get("highway")
        if highway in self.motor_roads:
            found.append(("foot" if self._no_motor(tags) else "road", highway))
        elif highway in self.foot_ways:
            found.append(("foot", highway))
        venue = self.venue_class(tags)
        if venue is not None:
            found.append(("venue", venue))
        if hazard and hazard != "no":
            found.append(("hazard", hazard))
        return found

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
        for entry in self.no_motor_tags:
            key, _, value = entry.partition("=")
            if tags.get(key.strip()) == value.strip():
                return True
        return False
