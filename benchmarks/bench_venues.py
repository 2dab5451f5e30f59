"""How long ``retrogpx venues`` takes, and its peak memory.

- the sample park map, whole;
- the corpus's Andorra extract (``andorra.osm.pbf``, a small country: 15,699 features),
  whole and with ``--near`` (3 km);
- the 215 MB region that ``bench_layers.py`` tiles from it (529 copies), with ``--near``
  and ``--radius 1500``: only that box is read from the region's index, so the time and
  memory are a city's. Skipped when ``bench_layers.py`` has not built it (its index is
  built first, and not timed here).

Each a fresh process (start-up included), layer caches in ``benchmarks/.cache``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from _common import machine_line, print_table, run_measured

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
ANDORRA = ROOT.parent / "shared" / "corpus" / "graphhopper__graphhopper" / "andorra.osm.pbf"
#: Andorra la Vella, in the first tile of the tiled region.
NEAR = "42.5075,1.5218"


def _venues(*args: str) -> list[str]:
    bindir = Path(sys.executable).parent
    return [str(bindir / "retrogpx"), "venues", *args, "--format", "csv"]


def main(argv: Sequence[str] | None = None) -> int:
    CACHE.mkdir(exist_ok=True)
    os.environ["RETROGPX_CACHE_DIR"] = str(CACHE / "layer-cache")
    print(machine_line(), flush=True)
    cases = [("sample park, whole", _venues(str(ROOT / "sample_tracks" / "park.osm")))]
    if ANDORRA.is_file():
        cases += [
            ("andorra.osm.pbf, whole", _venues(str(ANDORRA))),
            (
                "andorra.osm.pbf, --near, 3 km",
                _venues(str(ANDORRA), "--near", NEAR, "--radius", "3000"),
            ),
        ]
    region = sorted(CACHE.glob("andorra-tiled-*.osm.pbf"))
    if region:
        cases.append(
            (
                f"{region[-1].name}, --near, 1.5 km",
                _venues(str(region[-1]), "--near", NEAR, "--radius", "1500"),
            )
        )
    rows = []
    for name, cmd in cases:
        run_measured(cmd, cwd=CACHE)  # builds the index on first use: not timed
        m = run_measured(cmd, cwd=CACHE)
        rows.append((name, f"{m.wall_s:.2f}", f"{m.peak_tree_rss_mib or 0:.0f}"))
    print_table(("case", "seconds", "peak MiB"), rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
