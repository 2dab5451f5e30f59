"""retrogpx: check GPS tracks of reverse (backwards) running against the training advice.

The main entry points (imported lazily, so ``import retrogpx`` stays cheap):

* :func:`check_file` — one run, file to findings (:class:`RunResult`);
* :func:`read_track` — any GPX/TCX/FIT file into a :class:`Track`;
* :func:`segment_metrics` — the pure numpy maths on one segment;
* :func:`load_config` / :class:`Config` — settings;
* :class:`RetrogpxError` — the one exception family for bad input.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "check_file": "analysis",
    "analyse": "analysis",
    "RunResult": "analysis",
    "SegmentResult": "analysis",
    "read_track": "readers",
    "Track": "track",
    "WatchLap": "track",
    "segment_metrics": "metrics",
    "SegmentMetrics": "metrics",
    "GpsErrorModel": "metrics",
    "MetricSettings": "metrics",
    "Config": "config",
    "Thresholds": "config",
    "load_config": "config",
    "RetrogpxError": "errors",
    "TrackError": "errors",
    "LapError": "errors",
    "LayerError": "errors",
    "ConfigError": "errors",
    "MissingExtraError": "errors",
    "load_layers": "layers",
    "segment_safety": "safety",
}

__all__ = [
    "Config",
    "ConfigError",
    "GpsErrorModel",
    "LapError",
    "LayerError",
    "MetricSettings",
    "MissingExtraError",
    "RetrogpxError",
    "RunResult",
    "SegmentMetrics",
    "SegmentResult",
    "Thresholds",
    "Track",
    "TrackError",
    "WatchLap",
    "analyse",
    "check_file",
    "load_config",
    "load_layers",
    "read_track",
    "segment_metrics",
    "segment_safety",
]

if TYPE_CHECKING:
    from .analysis import RunResult, SegmentResult, analyse, check_file
    from .config import Config, Thresholds, load_config
    from .errors import (
        ConfigError,
        LapError,
        LayerError,
        MissingExtraError,
        RetrogpxError,
        TrackError,
    )
    from .layers import load_layers
    from .metrics import GpsErrorModel, MetricSettings, SegmentMetrics, segment_metrics
    from .readers import read_track
    from .safety import segment_safety
    from .track import Track, WatchLap


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'retrogpx' has no attribute {name!r}")
