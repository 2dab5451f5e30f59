"""Hostile XML through the command line, for GPX, TCX and OSM XML alike: XXE (a local
file or a URL), an external DTD, billion laughs and quadratic blow-up are refused in
under 2 s and 200 MB, nothing is fetched over the network, and the content of a local
file never appears in any output or error.

The reader tests (test_gpx_reader.py, test_tcx.py, test_layers.py) check each reader's
refusal; here every attack goes through ``retrogpx check`` / ``retrogpx layers`` in a
fresh interpreter, so that time and peak memory are measured per case and what the user
would see (stdout and stderr) is searched for the secret.
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BAD = Path(__file__).parent / "data" / "bad"
SECRET = "TOP-SECRET-7f3a9c"
MAX_SECONDS = 2.0
MAX_MEMORY_BYTES = 200 * 1024 * 1024

FORMATS = {
    "gpx": (
        "gpx",
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{use}</name>'
        "<trkseg>"
        + "".join(
            f'<trkpt lat="{52.51 + i * 2.25e-5:.7f}" lon="13.4">'
            f"<time>2025-05-05T07:00:{i:02d}Z</time></trkpt>"
            for i in range(40)
        )
        + "</trkseg></trk></gpx>",
    ),
    "tcx": (
        "TrainingCenterDatabase",
        '<TrainingCenterDatabase><Activities><Activity Sport="Running"><Notes>{use}</Notes>'
        '<Lap StartTime="2025-05-05T07:00:00Z"><TotalTimeSeconds>40</TotalTimeSeconds><Track>'
        + "".join(
            f"<Trackpoint><Time>2025-05-05T07:00:{i:02d}Z</Time><Position>"
            f"<LatitudeDegrees>{52.51 + i * 2.25e-5:.7f}</LatitudeDegrees>"
            "<LongitudeDegrees>13.4</LongitudeDegrees></Position></Trackpoint>"
            for i in range(40)
        )
        + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>",
    ),
    "osm": (
        "osm",
        '<osm version="0.6"><node id="1" lat="52.51" lon="13.401"/>'
        '<node id="2" lat="52.52" lon="13.401"/><way id="3"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="primary"/><tag k="name" v="{use}"/></way></osm>',
    ),
}

ATTACKS = {
    "XXE local file": ('[<!ENTITY xxe SYSTEM "file://{secret}">]', "&xxe;"),
    "XXE parameter entity": ('[<!ENTITY % p SYSTEM "file://{secret}"> %p;]', "x"),
    "XXE over HTTP": ('[<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/xxe">]', "&xxe;"),
    "external DTD": ('SYSTEM "http://127.0.0.1:{port}/evil.dtd"', "x"),
    "billion laughs": (
        "["
        + '<!ENTITY l0 "lol">'
        + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        + "]",
        "&l9;",
    ),
    "quadratic blow-up": ('[<!ENTITY a "' + "A" * 100_000 + '">]', "&a;" * 100_000),
}

RUNNER = textwrap.dedent(
    """
    import json, resource, sys, time
    from click.testing import CliRunner
    from retrogpx.cli import cli

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    results = []
    for case in json.load(sys.stdin):
        before = peak()
        started = time.perf_counter()
        result = CliRunner().invoke(cli, case["args"])
        results.append({
            "name": case["name"],
            "exit": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "exception": repr(result.exception) if result.exit_code not in (0, 2) else None,
            "seconds": time.perf_counter() - started,
            "grown": peak() - before,
        })
    json.dump(results, sys.stdout)
    """
)


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A local port that records any connection (none may come)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def command(fmt: str, path: Path) -> list[str]:
    laps = str(BAD / "good.laps.csv")
    if fmt == "osm":
        return ["layers", str(path)]
    return ["check", str(path), "--laps", laps, "--format", "json"]


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory, listener: socket.socket
) -> dict[str, dict[str, Any]]:
    """Every attack in every format (plus a harmless file of each format first, so
    lazy imports do not count as an attack's memory), run in one fresh interpreter."""
    folder = tmp_path_factory.mktemp("hostile")
    secret = folder / "secret.txt"
    secret.write_text(SECRET)
    port = listener.getsockname()[1]
    cases = []
    for fmt, (_, body) in FORMATS.items():
        harmless = folder / f"harmless.{fmt}"
        harmless.write_text('<?xml version="1.0"?>\n' + body.format(use="park"))
        cases.append({"name": f"{fmt}: harmless", "args": command(fmt, harmless)})
        if fmt == "osm":  # the track check's map path too
            cases.append(
                {
                    "name": "osm: harmless map of a check",
                    "args": [*command("gpx", BAD / "good.gpx"), "--layers", str(harmless)],
                }
            )
    for fmt, (root, body) in FORMATS.items():
        for attack, (decl, use) in ATTACKS.items():
            doctype = f"<!DOCTYPE {root} {decl.format(secret=secret, port=port)}>"
            path = folder / f"{attack.replace(' ', '_')}.{fmt}"
            path.write_text(f'<?xml version="1.0"?>\n{doctype}\n{body.format(use=use)}')
            cases.append({"name": f"{fmt}: {attack}", "args": command(fmt, path)})
            if attack == "billion laughs":  # decompressed (size-capped) first, then refused alike
                packed = path.with_name(path.name + ".gz")
                packed.write_bytes(gzip.compress(path.read_bytes()))
                cases.append({"name": f"{fmt}: {attack} (gzip)", "args": command(fmt, packed)})
            if fmt == "osm":
                args = [*command("gpx", BAD / "good.gpx"), "--layers", str(path)]
                cases.append({"name": f"osm: {attack} as the map of a check", "args": args})
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {r["name"]: r for r in json.loads(done.stdout)}


CASES = [
    f"{fmt}: {attack}{suffix}"
    for fmt in FORMATS
    for attack in ATTACKS
    for suffix in ([""] if fmt != "osm" else ["", " as the map of a check"])
] + [f"{fmt}: billion laughs (gzip)" for fmt in FORMATS]


def test_harmless_files_are_read(results: dict[str, dict[str, Any]]) -> None:
    """The attack files differ from these only by their DOCTYPE (and entity use)."""
    for fmt in FORMATS:
        assert results[f"{fmt}: harmless"]["exit"] == 0, results[f"{fmt}: harmless"]
    assert results["osm: harmless map of a check"]["exit"] == 0


@pytest.mark.parametrize("name", CASES)
def test_refused_quickly_in_little_memory_saying_nothing(
    results: dict[str, dict[str, Any]], name: str
) -> None:
    r = results[name]
    assert r["exit"] == 2, r["exception"] or r["stderr"]
    assert r["stdout"] == ""
    assert r["stderr"].startswith("Error: ") and r["stderr"].count("\n") == 1
    assert "DTD" in r["stderr"] and "refuse" in r["stderr"]
    assert SECRET not in r["stdout"] + r["stderr"]
    assert r["seconds"] < MAX_SECONDS
    assert r["grown"] < MAX_MEMORY_BYTES


def test_nothing_was_fetched(results: dict[str, dict[str, Any]], listener: socket.socket) -> None:
    assert results  # every case has run
    with pytest.raises(BlockingIOError):
        listener.accept()
