"""Output of ``retrogpx venues``: the terminal table, GeoJSON, GPX and CSV of a
:class:`~retrogpx.venues.VenueSearch` (pure formatting; files are written by the CLI
through :func:`retrogpx.report.write_atomic`)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from .report import csv_row, json_text
from .text import for_terminal

if TYPE_CHECKING:
    from .venues import Stretch, VenueSearch

VENUE_FORMATS = ("table", "geojson", "gpx", "csv")
#: GeoJSON properties of each stretch, in this order.
GEOJSON_PROPERTIES = (
    "rank", "score", "chord_m", "nearest_road_m", "nearest_road", "venue", "surface", "lit", "why",
)  # fmt: skip
CSV_COLUMNS = (
    *GEOJSON_PROPERTIES[:-1], "place", "source", "walk_m", "start_lat", "start_lon", "end_lat",
    "end_lon", "bearing_deg", "why",
)  # fmt: skip


def stretch_record(s: Stretch) -> dict[str, Any]:
    """One stretch as a flat record (the CSV row)."""
    (lon0, lat0), (lon1, lat1) = s.lonlat
    return {
        "rank": s.rank,
        "score": s.score,
        "chord_m": s.chord_m,
        "nearest_road_m": s.nearest_road_m,
        "nearest_road": s.nearest_road,
        "venue": s.venue,
        "surface": s.surface,
        "lit": s.lit,
        "place": s.place,
        "source": s.source,
        "walk_m": s.walk_m,
        "start_lat": round(lat0, 7),
        "start_lon": round(lon0, 7),
        "end_lat": round(lat1, 7),
        "end_lon": round(lon1, 7),
        "bearing_deg": s.bearing_deg,
        "why": s.why,
    }


def to_geojson(search: VenueSearch) -> str:
    """A FeatureCollection: one LineString (lon, lat) per stretch, properties
    :data:`GEOJSON_PROPERTIES` in that order."""
    features = []
    for s in search.stretches:
        record = stretch_record(s)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(a, 7), round(b, 7)] for a, b in s.lonlat],
                },
                "properties": {k: record[k] for k in GEOJSON_PROPERTIES},
            }
        )
    return json_text({"type": "FeatureCollection", "features": features})


def to_csv(search: VenueSearch) -> str:
    """One row per stretch, columns :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for s in search.stretches:
        writer.writerow(csv_row(stretch_record(s)))
    return out.getvalue()


def to_gpx(search: VenueSearch) -> str:
    """GPX 1.1 with each stretch as a route of its two ends, named
    ``reverse stretch N (72 m, grass)``, its words as the description (loads onto a
    watch as a course)."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.creator = "retrogpx venues"
    for s in search.stretches:
        # XML 1.0 holds no control characters: written visibly, as on a terminal.
        route = gpxpy.gpx.GPXRoute(name=for_terminal(s.name), description=for_terminal(s.why))
        for k, (lon, lat) in enumerate(s.lonlat):
            route.points.append(
                gpxpy.gpx.GPXRoutePoint(
                    latitude=round(lat, 7),
                    longitude=round(lon, 7),
                    name="start" if k == 0 else "end",
                )
            )
        gpx.routes.append(route)
    return str(gpx.to_xml(version="1.1"))


def render_venues(search: VenueSearch, *, width: int | None = None) -> str:
    """The header, one table row per stretch (where it is, how far from the road, the
    ground), then each stretch's words, and notes; or why nothing was found."""
    import textwrap

    from . import terminal

    cols = width or terminal.output_width()
    console, buffer = terminal.console(cols)

    def say(text: str, first: str = "", rest: str = "") -> None:
        # Wrapped here with a hanging indent; rich must not wrap it again.
        wrapped = textwrap.fill(text, cols - 1, initial_indent=first, subsequent_indent=rest)
        console.print(wrapped, soft_wrap=True)

    say(search.header(), rest="  ")
    if not search.stretches:
        say(f"nothing suggested: {search.why_none()}", rest="  ")
    else:
        table = terminal.table(cols)
        near = search.near_lonlat is not None
        columns = [("#", "right"), ("score", "right"), ("m", "right"), ("road m", "right"),
                   ("where", "left"), ("ground", "left"), ("lit", "left")]  # fmt: skip
        if near:
            columns.append(("walk m", "right"))
        columns.append(("start, heading", "left"))
        terminal.add_columns(table, columns, words=("where",))
        for s in search.stretches:
            (lon, lat), _ = s.lonlat
            row = [
                str(s.rank),
                f"{s.score:.0f}",
                f"{s.chord_m:.0f}",
                "–" if s.nearest_road_m is None else f"{s.nearest_road_m:.0f}",
                s.place,
                s.surface or "?",
                s.lit or "?",
            ]
            if near:
                row.append(
                    "–" if s.walk_m is None else f"{s.walk_m:.0f}" + ("" if s.walk_by_path else "*")
                )
            row.append(f"{lat:.5f},{lon:.5f} {_compass(s.bearing_deg)}")
            table.add_row(*row)
        console.print(table)
        for s in search.stretches:
            say(s.why, f"{s.rank:>2}. ", "    ")
        if near and any(not s.walk_by_path for s in search.stretches):
            console.print("* straight-line distance: no foot path in the map links it")
    for note in search.notes:
        say(f"note: {note}", rest="  ")
    return buffer.getvalue()


def _compass(bearing: float) -> str:
    names = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    return names[int((bearing % 360.0) / 45.0 + 0.5) % 8]


def render(search: VenueSearch, fmt: str, *, width: int | None = None) -> str:
    """The search in one of :data:`VENUE_FORMATS`."""
    if fmt == "geojson":
        return to_geojson(search)
    if fmt == "gpx":
        return to_gpx(search)
    if fmt == "csv":
        return to_csv(search)
    return render_venues(search, width=width)
