"""Draw the README's season pictures again: the season plot and two screenshots of the
season report of the sample season (with the roadside run and the watch session).

Usage (from the repository's root, with retrogpx installed and Chromium on PATH)::

    python tools/season_docs.py            # writes docs/season_plot.png,
                                           # docs/season_report.png, docs/season_report_run.png

The batch is the README's (*The season report and the season plot*); the report is
opened in headless Chromium, as a person opens it: its top, and the roadside run's
section alone. The PNGs are reduced to 128 colours to stay small.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BATCH = [
    "batch", "sample_tracks/season", "sample_tracks/roadside.gpx", "sample_tracks/watch",
    "--reverse-laps", "manual", "--layers", "sample_tracks/park.osm",
]  # fmt: skip
WIDTH = 1280


def small_png(image: Image.Image, path: Path) -> None:
    """``image`` as a PNG of 128 colours (the pages and plots have few)."""
    image.convert("RGB").quantize(colors=128, dither=Image.Dither.NONE).save(path, optimize=True)


def content(image: Image.Image, pad: int = 12) -> Image.Image:
    """``image`` cut below its last row of ink."""
    grey = np.asarray(image.convert("L"))
    rows = np.flatnonzero((grey < 245).any(axis=1))
    return image.crop((0, 0, image.width, min(image.height, int(rows[-1]) + pad)))


def screenshot(browser: str, page: Path, height: int, out: Path) -> Image.Image:
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--virtual-time-budget=5000", f"--user-data-dir={out.parent / 'profile'}",
         f"--window-size={WIDTH},{height}", f"--screenshot={out}", page.as_uri()],
        capture_output=True, check=True,
    )  # fmt: skip
    return Image.open(out)


def main() -> None:
    from retrogpx.seasonreport import run_anchor

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("Chromium is needed for the report's screenshots")
    retrogpx = Path(sys.executable).parent / "retrogpx"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run(
            [str(retrogpx), *BATCH, "--store", str(tmp / "s.sqlite"), "--plots", str(tmp),
             "--report", str(tmp / "season.html")],
            cwd=ROOT, capture_output=True, check=False,
        )  # fmt: skip
        small_png(Image.open(tmp / "season.png"), DOCS / "season_plot.png")
        # The top: header, counts, the runs needing attention, the first rows of runs.
        top = screenshot(browser, tmp / "season.html", 1100, tmp / "top.png")
        small_png(top, DOCS / "season_report.png")
        # The roadside run's section alone (it is open: it needs attention).
        anchor = run_anchor("sample_tracks/roadside.gpx")
        html = (tmp / "season.html").read_text(encoding="utf-8")
        only = f"<style>body > :not(#{anchor}) {{ display: none; }}</style></head>"
        (tmp / "run.html").write_text(html.replace("</head>", only, 1), encoding="utf-8")
        run = screenshot(browser, tmp / "run.html", 900, tmp / "run.png")
        small_png(content(run), DOCS / "season_report_run.png")
    for name in ("season_plot.png", "season_report.png", "season_report_run.png"):
        print(f"wrote docs/{name} ({(DOCS / name).stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
