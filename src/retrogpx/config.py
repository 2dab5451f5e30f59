"""Settings: defaults from GUIDANCE.md, overridable by a TOML file and CLI options.

The TOML file is ``--config FILE`` or ``retrogpx.toml`` in the working directory.
Every key is checked: a typo is an error naming the key, not a silently ignored
setting. See the README for the full list with defaults.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classes import LayerClasses
from .errors import ConfigError
from .files import read_input
from .metrics import GpsErrorModel, MetricSettings

DEFAULT_CONFIG_NAME = "retrogpx.toml"
#: Largest config file read (the README's full example is about 3 KB).
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class Thresholds:
    """Limits the rules judge against (GUIDANCE.md rows 1-3)."""

    warmup_min: float = 10.0  # row 1: warm up ~10 min before the first reverse section
    min_chord_m: float = 50.0  # row 3: straight-line distance 50-100 m
    max_length_m: float = 100.0  # row 3: never more than 100 m (covered or chord)
    max_deviation_m: float = 10.0  # row 3: smoothed path within 10 m of the chord
    max_grade_pct: float = 4.0  # row 2: flat ground
    max_gap_s: float = 15.0  # longer gaps mean the segment was not really recorded
    near_road_m: float = 30.0  # row 2: away from vehicles
    near_road_m_by_class: dict[str, float] = field(default_factory=dict)
    near_hazard_m: float = 10.0  # row 2: avoid pits, kerbs, parked cars
    # "Reading the venue like a runner" (GUIDANCE.md):
    near_fast_road_m: float = 50.0  # beside fast traffic
    fast_road_kmh: float = 50.0  # a maxspeed above this is fast
    fast_highways: tuple[str, ...] = ("motorway", "trunk", "motorway_link", "trunk_link")
    near_bikes_m: float = 3.0  # along or across a way shared with bicycles
    near_crowd_m: float = 20.0  # crowded places
    crowd_pois: int = 3  # shops and cafés within near_crowd_m that make a crowd
    near_obstacle_m: float = 1.5  # a body width from the judged path
    dark_sun_deg: float = -6.0  # civil twilight

    def road_limit_m(self, highway: str, maxspeed_kmh: float | None = None) -> float:
        """The near-road distance for one ``highway`` class and ``maxspeed`` (km/h, None
        when not tagged): the class's, raised to ``near_fast_road_m`` beside fast traffic
        (a ``maxspeed`` above ``fast_road_kmh``, or a ``fast_highways`` class without
        one)."""
        limit = self.near_road_m_by_class.get(highway, self.near_road_m)
        if maxspeed_kmh is None:
            fast = highway in self.fast_highways
        else:
            fast = maxspeed_kmh > self.fast_road_kmh
        return max(limit, self.near_fast_road_m) if fast else limit

    @property
    def largest_distance_m(self) -> float:
        """The largest distance any rule looks at (for how far to search the map)."""
        return max(
            self.near_road_m,
            self.near_fast_road_m,
            self.near_hazard_m,
            self.near_crowd_m,
            *self.near_road_m_by_class.values(),
        )

    def widened(self, margin_m: float) -> Thresholds:
        """A stricter copy: every distance limit grown by ``margin_m`` and the length
        range narrowed by it (what a planned line needs for a noisy run to keep to it)."""
        return dataclasses.replace(
            self,
            min_chord_m=self.min_chord_m + margin_m,
            max_length_m=self.max_length_m - margin_m,
            near_road_m=self.near_road_m + margin_m,
            near_road_m_by_class={k: v + margin_m for k, v in self.near_road_m_by_class.items()},
            near_hazard_m=self.near_hazard_m + margin_m,
            near_fast_road_m=self.near_fast_road_m + margin_m,
            near_bikes_m=self.near_bikes_m + margin_m,
            near_crowd_m=self.near_crowd_m + margin_m,
            near_obstacle_m=self.near_obstacle_m + margin_m,
        )


#: ``--laps-tz`` / ``[laps] timezone``: lap times without a zone are in the run's own zone.
AUTO_ZONE = "auto"


@dataclass(frozen=True)
class LapSettings:
    """How lap files are read."""

    timezone: str = "UTC"  # zone of lap-file times written without one


@dataclass(frozen=True)
class LayerSettings:
    """Map layers applied to every check (a runner's usual venue map), and their cache.

    ``cache``: read layers through their indexed cache (built on first use);
    ``cache_dir``: where (default ``$RETROGPX_CACHE_DIR``, else the user's cache folder).
    """

    files: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()
    cache: bool = True
    cache_dir: str | None = None

    @property
    def cache_option(self) -> bool | str:
        """What :func:`~retrogpx.layers.load_layers` takes as ``cache``."""
        return (self.cache_dir or True) if self.cache else False


@dataclass(frozen=True)
class SeasonSettings:
    """Progression thresholds and the energy model (GUIDANCE.md rows 4-6), used by
    :mod:`retrogpx.season`; defined here so that loading the config needs no pandas."""

    volume_jump_pct: float = 30.0
    volume_jump_m: float = 200.0
    speed_jump_pct: float = 30.0
    speed_jump_mps: float = 0.3
    history_weeks: int = 4
    walk_weeks: int = 2
    walk_speed_mps: float = 1.7
    body_mass_kg: float = 70.0
    kcal_per_kg_km: float = 1.0
    reverse_energy_factor: float = 1.3


@dataclass(frozen=True)
class VenueSettings:
    """How ``retrogpx venues`` looks for stretches (see the README's *Find a venue*)."""

    radius_m: float = 1500.0  # --radius when --near is given
    max_radius_m: float = 25000.0
    limit: int = 10  # --limit
    straight_tolerance_m: float = 2.0  # a way's straight part strays no more from its line
    spacing_m: float = 15.0  # between lines across a venue, and between windows
    edge_m: float = 3.0  # lines across a venue keep this far inside its edge
    track_inset_m: float = 4.0  # an athletics-track straight, in from the track's edge
    walk_points_per_km: float = 10.0  # score lost per km of walk from --near
    max_area_km: float = 50.0  # widest map searched whole without --near (a city)


@dataclass(frozen=True)
class LimitSettings:
    """Input size caps."""

    max_file_mb: float = 512.0
    max_decompressed_mb: float = 1024.0
    max_archive_mb: float = 16384.0  # all the members read from one export archive


@dataclass(frozen=True)
class BatchSettings:
    """How ``retrogpx batch`` runs files (nothing here changes a run's result)."""

    file_timeout_s: float = 600.0  # a file still being checked after this is failed


@dataclass(frozen=True)
class Config:
    """All settings of one retrogpx run. Every number is checked when it is made
    (:data:`RANGES`): a value out of range raises :class:`~retrogpx.errors.ConfigError`."""

    rules: Thresholds = field(default_factory=Thresholds)
    metrics: MetricSettings = field(default_factory=MetricSettings)
    laps: LapSettings = field(default_factory=LapSettings)
    layers: LayerSettings = field(default_factory=LayerSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    season: SeasonSettings = field(default_factory=SeasonSettings)
    classes: LayerClasses = field(default_factory=LayerClasses)
    venues: VenueSettings = field(default_factory=VenueSettings)
    batch: BatchSettings = field(default_factory=BatchSettings)

    def __post_init__(self) -> None:
        check_config(self)

    def replace_rules(self, **changes: Any) -> Config:
        """A copy with some thresholds changed (CLI options); None values are ignored."""
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, rules=dataclasses.replace(self.rules, **given))


# The TOML layout: [rules], [rules.near_road_m_by_class], [metrics], [gps], [laps],
# [layers], [limits], [season], [classes]. [gps] is the metrics' GPS error model, kept at
# top level because users tune it on its own.
_SECTIONS: dict[str, type] = {
    "rules": Thresholds,
    "metrics": MetricSettings,
    "gps": GpsErrorModel,
    "laps": LapSettings,
    "layers": LayerSettings,
    "limits": LimitSettings,
    "season": SeasonSettings,
    "classes": LayerClasses,
    "venues": VenueSettings,
    "batch": BatchSettings,
}


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: finite, from ``low`` to ``high``
    (``low`` itself excluded when ``open_low``), in ``unit``."""

    low: float
    high: float
    unit: str = ""
    open_low: bool = False

    def holds(self, value: float) -> bool:
        """Whether ``value`` is in the range (never for NaN or infinities)."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        return above and value <= self.high

    def words(self) -> str:
        """``a number above 0 and at most 1000 m``, ``a number from 0 to 600 min``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.open_low:
            return f"a number above {self.low:g} and at most {self.high:g}{unit}"
        return f"a number from {self.low:g} to {self.high:g}{unit}"


_DISTANCE = Range(0, 1000, "m")  # a distance a rule looks at around the path
#: Every numeric setting, by ``section.key`` as the TOML file names it. Bounds keep each
#: one physical and the work it sets bounded (``heading_step_m`` below 0.1 m resamples a
#: path into millions of steps; a zero sigma or correlation time divides by zero).
RANGES: dict[str, Range] = {
    "rules.warmup_min": Range(0, 600, "min"),
    "rules.min_chord_m": Range(0, 10_000, "m"),
    "rules.max_length_m": Range(0, 10_000, "m", open_low=True),
    "rules.max_deviation_m": Range(0, 1000, "m", open_low=True),
    "rules.max_grade_pct": Range(0, 100, "%"),
    "rules.max_gap_s": Range(0, 86_400, "s", open_low=True),
    "rules.near_road_m": _DISTANCE,
    "rules.near_road_m_by_class": _DISTANCE,
    "rules.near_hazard_m": _DISTANCE,
    "rules.near_fast_road_m": _DISTANCE,
    "rules.fast_road_kmh": Range(0, 400, "km/h"),
    "rules.near_bikes_m": _DISTANCE,
    "rules.near_crowd_m": _DISTANCE,
    "rules.crowd_pois": Range(1, 10_000),
    "rules.near_obstacle_m": Range(0, 100, "m"),
    "rules.dark_sun_deg": Range(-90, 90, "degrees"),
    "metrics.smoothing_s": Range(0, 600, "s"),
    "metrics.heading_step_m": Range(0.1, 1000, "m"),
    "gps.sigma_m": Range(0, 1000, "m", open_low=True),
    "gps.correlation_s": Range(0, 86_400, "s", open_low=True),
    "gps.white_m": Range(0, 1000, "m"),
    "gps.altitude_sigma_m": Range(0, 1000, "m"),
    "gps.altitude_correlation_s": Range(0, 86_400, "s"),  # 0: no drift correlation
    "gps.barometric_sigma_m": Range(0, 1000, "m"),
    "gps.barometric_correlation_s": Range(0, 86_400, "s"),
    "limits.max_file_mb": Range(0, 1_048_576, "MB", open_low=True),
    "limits.max_decompressed_mb": Range(0, 1_048_576, "MB", open_low=True),
    "limits.max_archive_mb": Range(0, 16_777_216, "MB", open_low=True),
    "season.volume_jump_pct": Range(0, 10_000, "%"),
    "season.volume_jump_m": Range(0, 1_000_000, "m"),
    "season.speed_jump_pct": Range(0, 10_000, "%"),
    "season.speed_jump_mps": Range(0, 100, "m/s"),
    "season.history_weeks": Range(1, 520, "weeks"),
    "season.walk_weeks": Range(0, 520, "weeks"),
    "season.walk_speed_mps": Range(0, 100, "m/s", open_low=True),
    "season.body_mass_kg": Range(0, 1000, "kg", open_low=True),
    "season.kcal_per_kg_km": Range(0, 100),
    "season.reverse_energy_factor": Range(0, 100),
    "venues.radius_m": Range(0, 1_000_000, "m", open_low=True),
    "venues.max_radius_m": Range(0, 1_000_000, "m", open_low=True),
    "venues.limit": Range(1, 100_000),
    "venues.straight_tolerance_m": Range(0, 100, "m", open_low=True),
    "venues.spacing_m": Range(1, 1000, "m"),
    "venues.edge_m": Range(0, 100, "m"),
    "venues.track_inset_m": Range(0, 100, "m"),
    "venues.walk_points_per_km": Range(0, 10_000),
    "venues.max_area_km": Range(0, 10_000, "km", open_low=True),
    "batch.file_timeout_s": Range(0, 604_800, "s", open_low=True),
}
#: Pairs that must keep their order: (``section.low``, ``section.high``).
ORDERED: tuple[tuple[str, str], ...] = (
    ("rules.min_chord_m", "rules.max_length_m"),
    ("venues.radius_m", "venues.max_radius_m"),
)


def out_of_range(name: str, value: Any, where: str, path: str | Path | None = None) -> ConfigError:
    """The error for setting ``name`` (``section.key``) given ``value``: ``where`` names
    it as the user gave it (``[rules] near_road_m`` in a file, ``--near-road``)."""
    shown = "true" if value is True else "false" if value is False else f"{value!r}"
    return ConfigError(
        f"{shown} is out of range",
        path=path,
        where=where,
        hint=f"give {RANGES[name].words()}",
    )


def check_setting(name: str, value: Any, where: str) -> None:
    """Raise :func:`out_of_range` unless ``value`` is a number in ``RANGES[name]``."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not RANGES[name].holds(float(value)):
        raise out_of_range(name, value, where)


def _sections_of(config: Config) -> dict[str, Any]:
    return {
        name: config.metrics.gps if name == "gps" else getattr(config, name) for name in _SECTIONS
    }


def check_config(config: Config) -> None:
    """Every numeric setting in range, and ordered pairs in order.

    Raises:
        ConfigError: naming the setting as ``[section] key`` and the range it takes.
    """
    sections = _sections_of(config)
    for name in RANGES:
        section, key = name.split(".")
        value = getattr(sections[section], key)
        values = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, v in values:
            where = f"[{section}] {key}" + (f".{sub}" if sub is not None else "")
            check_setting(name, v, where)
    for low, high in ORDERED:
        (ls, lk), (hs, hk) = low.split("."), high.split(".")
        lv, hv = getattr(sections[ls], lk), getattr(sections[hs], hk)
        if lv > hv:
            raise ConfigError(
                f"{lk} ({lv:g}) is above {hk} ({hv:g})",
                where=f"[{ls}]",
                hint=f"give {lk} at most {hk}",
            )


def _coerce(value: Any, annotation: Any, key: str, path: Path) -> Any:
    """Check a TOML value against a dataclass field type and convert it."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _coerce(value, members[0], key, path) if len(members) == 1 else value
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if isinstance(value, str):
            return (value,)
    elif (
        origin is dict
        and isinstance(value, dict)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values())
    ):
        return {str(k): float(v) for k, v in value.items()}
    section, _, name = key.partition(".")
    if key in RANGES:
        words = RANGES[key].words()
        hint = f"give {words.replace('a number', 'a whole number') if annotation is int else words}"
    else:
        hint = f"expected {getattr(annotation, '__name__', str(annotation))}"
    raise ConfigError(
        f"has the wrong type ({type(value).__name__})",
        path=path,
        where=f"[{section}] {name}",
        hint=hint,
    )


def _section(cls: type, table: Any, name: str, path: Path) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table", path=path)
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)} - {"gps"}  # [gps] is its own section
    kwargs = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(
                f"unknown key '{key}' in [{name}]",
                path=path,
                hint=f"known keys: {', '.join(sorted(fields))}",
            )
        kwargs[key] = _coerce(value, hints[key], f"{name}.{key}", path)
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # a section's own check, e.g. [classes] no_motor_tags
        raise ConfigError(exc.message, path=path, where=f"[{name}]", hint=exc.hint) from None


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load settings from ``path``, else from ``retrogpx.toml`` in ``cwd``, else defaults.

    Raises:
        ConfigError: unreadable TOML, unknown sections or keys, wrong types.
    """
    if path is None:
        candidate = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
        if not candidate.is_file():
            return Config()
        path = candidate
    path = Path(path)
    import tomllib  # here: a run without a config file does not need it

    try:
        raw = read_input(path, MAX_CONFIG_BYTES, error=ConfigError, what="config file")
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config ({exc})", path=path) from None
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"unknown section [{sorted(unknown)[0]}]",
            path=path,
            hint=f"known sections: {', '.join(_SECTIONS)}",
        )
    parts = {
        name: _section(cls, data[name], name, path)
        for name, cls in _SECTIONS.items()
        if name in data
    }
    gps = parts.pop("gps", GpsErrorModel())
    metrics = parts.pop("metrics", MetricSettings())
    metrics = dataclasses.replace(metrics, gps=gps)
    layers = parts.get("layers")
    if isinstance(layers, LayerSettings):
        # Relative layer paths are relative to the config file, not the working folder.
        base = path.parent
        parts["layers"] = dataclasses.replace(
            layers,
            files=tuple(str(base / f) for f in layers.files),
            hazards=tuple(str(base / f) for f in layers.hazards),
            cache_dir=str(base / Path(layers.cache_dir).expanduser()) if layers.cache_dir else None,
        )
    try:
        return Config(metrics=metrics, **parts)
    except ConfigError as exc:
        raise ConfigError(exc.message, path=path, where=exc.where, hint=exc.hint) from None
