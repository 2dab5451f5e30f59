"""TOML settings: defaults from GUIDANCE.md, overrides, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from retrogpx.config import Config, load_config
from retrogpx.errors import ConfigError


def test_defaults_follow_the_guidance() -> None:
    r = Config().rules
    assert (r.warmup_min, r.min_chord_m, r.max_length_m, r.max_deviation_m) == (10, 50, 100, 10)
    assert (r.max_grade_pct, r.near_road_m) == (4, 30)


def test_no_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(cwd=tmp_path) == Config()


def test_retrogpx_toml_in_the_working_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "retrogpx.toml").write_text(
        "[rules]\nmax_length_m = 120\n[rules.near_road_m_by_class]\nservice = 15\n"
        "[gps]\nsigma_m = 4\n[metrics]\nsmoothing_s = 3\n[laps]\ntimezone = 'Europe/Berlin'\n"
        "[layers]\nfiles = ['maps/park.osm']\n"
    )
    c = load_config(cwd=tmp_path)
    assert c.rules.max_length_m == 120.0 and c.rules.min_chord_m == 50.0
    assert c.rules.road_limit_m("service") == 15.0 and c.rules.road_limit_m("primary") == 30.0
    assert c.metrics.gps.sigma_m == 4.0 and c.metrics.smoothing_s == 3.0
    assert c.laps.timezone == "Europe/Berlin"
    assert c.layers.files == (str(tmp_path / "maps/park.osm"),)


def test_cli_overrides_win(tmp_path: Path) -> None:
    c = Config().replace_rules(max_length_m=90.0, min_chord_m=None)
    assert c.rules.max_length_m == 90.0 and c.rules.min_chord_m == 50.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules]\nmax_lenght_m = 1\n", "unknown key 'max_lenght_m' in \\[rules\\]"),
        ("[rule]\n", "unknown section \\[rule\\]"),
        (
            "[rules]\nmax_length_m = 'long'\n",
            "\\[rules\\] max_length_m: has the wrong type \\(str\\); give a number above 0",
        ),
        ("[rules\n", "not valid TOML"),
        ("rules = 3\n", "\\[rules\\] must be a table"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_classes_section_changes_what_counts_as_a_road(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[classes]\nmotor_roads = ['primary']\nno_motor_tags = ['access=no']\n")
    c = load_config(p)
    assert c.classes.motor_roads == ("primary",) and c.classes.no_motor_tags == ("access=no",)
    p.write_text("[classes]\nno_motor_tags = ['access']\n")
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(p)


def test_loading_the_config_imports_no_table_or_plot_libraries(tmp_path: Path) -> None:
    # The config holds every section's settings ([season] too) without the modules that
    # use them: loading it must not pull in pandas (and pyarrow) or the geometry stack.
    toml = tmp_path / "retrogpx.toml"
    toml.write_text("[season]\nbody_mass_kg = 60\n[classes]\nno_motor_tags = ['access=no']\n")
    code = (
        "import sys; from retrogpx.config import load_config; "
        f"c = load_config({str(toml)!r}); "
        "assert c.season.body_mass_kg == 60.0, c.season; "
        "heavy = ('pandas', 'pyarrow', 'matplotlib', 'shapely', 'pyproj'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
