"""The fast OSM XML reader (lxml, ``layer_readers/_osm_lxml.py``) against the reference
reader (defusedxml): the same reader state and the same features on ordinary files, with
the fast reader really reading them; on anything else it gives up and the result, or the
LayerError, is the reference reader's own; hostile XML never reaches lxml."""

from __future__ import annotations

import gzip
import importlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import shapely
from conftest import ROOT, SAMPLES, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrogpx.errors import LayerError
from retrogpx.layer_readers import Features, Limits, _osm_lxml
from retrogpx.layer_readers._common import open_stream
from retrogpx.layer_readers.osm_xml import _OsmXml, read_osm_xml
from retrogpx.layers import LayerClasses

CLASSES = LayerClasses()
STATE = ("node_id", "node_lon", "node_lat", "way_id", "way_start", "refs")
LISTS = ("points", "ways", "relations", "total", "bounds")
PARK = SAMPLES / "park.osm"
CORPUS_OSM = corpus_files(".osm", ".osm.gz", ".osm.bz2")


def reference_state(path: Path, hazard_file: bool = False) -> _OsmXml:
    reader = _OsmXml(path, CLASSES, hazard_file)
    with open_stream(path, Limits()) as stream:
        reader.parse(stream)
    return reader


def fast_state(path: Path, hazard_file: bool = False) -> _OsmXml | None:
    """The fast reader's state; None when it gave the file to the reference reader."""
    reader = _OsmXml(path, CLASSES, hazard_file)
    with open_stream(path, Limits()) as stream:
        return reader if _osm_lxml.read_fast(stream, reader) else None


def assert_same_state(fast: _OsmXml | None, ref: _OsmXml) -> None:
    assert fast is not None, "the fast reader gave up on an ordinary file"
    for name in STATE:  # arrays: compared as bytes, so NaN and -0.0 count too
        assert getattr(fast, name).tobytes() == getattr(ref, name).tobytes(), name
    for name in LISTS:
        assert getattr(fast, name) == getattr(ref, name), name


def assert_reads_the_same(path: Path, hazard_file: bool = False) -> None:
    """The fast reader reads ``path`` itself, into the reference reader's state, from
    which the same features follow."""
    ref, fast = reference_state(path, hazard_file), fast_state(path, hazard_file)
    assert_same_state(fast, ref)
    assert fast is not None
    assert outcome(lambda: fast.features(None)) == outcome(lambda: ref.features(None))


def reference_read(
    path: Path, box: tuple[float, float, float, float] | None = None, hazard_file: bool = False
) -> Features:
    return reference_state(path, hazard_file).features(box)


def fast_read(
    path: Path, box: tuple[float, float, float, float] | None = None, hazard_file: bool = False
) -> Features:
    return read_osm_xml(path, CLASSES, box, hazard_file, Limits())


def outcome(read: Callable[[], Features]) -> tuple[object, ...]:
    """What a read gives, comparably: the features, or the one-line error."""
    try:
        f = read()
    except LayerError as exc:
        return ("error", str(exc))
    return (
        shapely.to_wkb(f.geoms).tolist(),
        f.kinds.tolist(),
        f.classes.tolist(),
        f.names.tolist(),
        f.as_area.tolist(),
        f.total,
        f.classified,
        f.extent,
        f.format,
    )


def assert_same_outcome(path: Path, hazard_file: bool = False) -> None:
    ref = outcome(lambda: reference_read(path, hazard_file=hazard_file))
    assert outcome(lambda: fast_read(path, hazard_file=hazard_file)) == ref


@contextmanager
def chunks(chunk_bytes: int, batch_bytes: int) -> Iterator[None]:
    """The fast reader reading ``chunk_bytes`` at a time, a batch every ``batch_bytes``."""
    with (
        mock.patch.object(_osm_lxml, "CHUNK_BYTES", chunk_bytes),
        mock.patch.object(_osm_lxml, "BATCH_BYTES", batch_bytes),
    ):
        yield


def osm(body: str, head: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return f'{head}<osm version="0.6">\n{body}\n</osm>\n'


#: Nodes, a road, a park and a hazard: a plain map the other snippets build on.
BASE = """
<node id="1" lat="52.5100000" lon="13.4000000"/>
<node id="2" lat="52.5110000" lon="13.4010000"/>
<node id="3" lat="52.5120000" lon="13.4000000"><tag k="hazard" v="pothole"/></node>
<way id="10"><nd ref="1"/><nd ref="2"/>
  <tag k="highway" v="primary"/><tag k="name" v="Hauptstraße"/></way>
<way id="11"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="leisure" v="park"/></way>
"""


def write(tmp_path: Path, text: str | bytes, name: str = "map.osm") -> Path:
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


# --------------------------------------------------------------------------- real files


@pytest.mark.parametrize("hazard_file", [False, True])
def test_sample_park_reads_the_same(hazard_file: bool) -> None:
    assert_reads_the_same(PARK, hazard_file)
    assert_same_outcome(PARK, hazard_file)
    box = (13.445, 52.515, 13.450, 52.518)
    assert outcome(lambda: fast_read(PARK, box)) == outcome(lambda: reference_read(PARK, box))


@pytest.mark.parametrize("path", CORPUS_OSM, ids=lambda p: p.name)
def test_corpus_extracts_read_the_same(path: Path) -> None:
    assert_reads_the_same(path)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's generated city (``benchmarks/bench_batch.py``), 60 x 60 blocks."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        bench_batch = importlib.import_module("bench_batch")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    path = tmp_path_factory.mktemp("city") / "city.osm"
    bench_batch.write_city(path, 60)
    return path


def test_generated_city_reads_the_same(city: Path) -> None:
    ref = reference_state(city)
    assert len(ref.ways) > 3000 and len(ref.node_id) > 10_000
    assert_reads_the_same(city)


def test_generated_city_is_read_faster(city: Path) -> None:
    """Not a benchmark (benchmarks/ measures): a margin the fast reader keeps even on a
    busy machine, so that it cannot have turned into the slow path unnoticed."""

    def best(read: Callable[[Path], object]) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            read(city)
            times.append(time.process_time() - start)
        return min(times)

    assert best(fast_read) < 0.8 * best(reference_read)


def test_memory_stays_flat(city: Path) -> None:
    """Finished elements are deleted batch by batch: the tree never holds the file."""
    most = 0
    take = _osm_lxml._Batches.take

    def counting(self: _osm_lxml._Batches, root: object, finished: bool, hiding: bool) -> None:
        nonlocal most
        most = max(most, len(root))  # type: ignore[arg-type]
        take(self, root, finished, hiding)

    with mock.patch.object(_osm_lxml._Batches, "take", counting):
        state = fast_state(city)
    assert state is not None
    assert 0 < most < (len(state.node_id) + len(state.way_id)) / 20


@pytest.mark.parametrize(("chunk_bytes", "batch_bytes"), [(1, 1), (7, 100), (64, 1 << 20)])
def test_any_chunk_and_batch_size_reads_the_same(chunk_bytes: int, batch_bytes: int) -> None:
    with chunks(chunk_bytes, batch_bytes):
        assert_same_state(fast_state(PARK), reference_state(PARK))


# --------------------------------------------------------------------------- ordinary oddities

#: OSM XML the fast reader reads itself (and must read as the reference reader does).
ORDINARY = {
    "base": osm(BASE),
    "no declaration": osm(BASE, head=""),
    "byte order mark": "\ufeff" + osm(BASE),
    "crlf": osm(BASE).replace("\n", "\r\n"),
    "comments and pis": osm(
        "<!-- é --><?x y?>" + BASE + "<!-- <node id='5'/> --><![CDATA[<way>]]>",
        head='<?xml version="1.0"?>\n<!-- before -->\n<?xml-stylesheet href="a"?>\n',
    ),
    "deleted and invisible": osm(
        BASE
        + '<node id="4" lat="52.52" lon="13.41" action="delete"><tag k="hazard" v="x"/></node>'
        + '<node id="5" lat="52.52" lon="13.41" visible="false"/>'
        + '<way id="12" action="delete"><nd ref="1"/><nd ref="2"/>'
        + '<tag k="highway" v="primary"/></way>'
        + '<way id="13" visible="false"><nd ref="1"/><nd ref="3"/>'
        + '<tag k="highway" v="service"/></way>'
        + '<way id="14" action="modify" visible="true"><nd ref="2"/><nd ref="3"/>'
        + '<tag k="highway" v="residential"/></way>'
    ),
    "unplaced and untagged": osm(
        BASE
        + '<node id="6" lat="52.52"/><node id="7"><tag k="hazard" v="x"/></node>'
        + '<node id="8" lat="52.52" lon="13.4"><tag k="" v="x"/><tag k="a" v=""/></node>'
    ),
    "tags among nds": osm(
        BASE
        + '<way id="15"><tag k="highway" v="footway"/><nd ref="1"/><tag k="area" v="no"/>'
        + '<nd ref="3"/><tag k="highway" v="service"/><nd ref="9999"/></way>'
    ),
    "relation and bounds": osm(
        '<bounds minlat="52.5" minlon="13.3" maxlat="52.6" maxlon="13.5"/>'
        + BASE
        + '<relation id="20"><member type="way" ref="11" role="outer"/>'
        + '<member type="way" ref="x"/><member type="node" ref="1"/>'
        + '<tag k="type" v="multipolygon"/><tag k="leisure" v="park"/></relation>'
        + '<bounds minlat="x" minlon="13.3" maxlat="52.6" maxlon="13.5"/>'
        + '<relation id="21" action="delete"><tag k="type" v="multipolygon"/></relation>'
    ),
    "other elements": osm(
        '<note>é &amp; text</note><meta osm_base="2024"/>'
        + BASE
        + '<changeset id="1"/><x:node xmlns:x="u" id="1" lat="1" lon="1"/>'
    ),
    "values": osm(
        BASE.replace("Hauptstraße", "A &amp; B &#233; &#x1F600; &lt;&gt; &quot;")
        + """<node id='9' lat=' 52.5 ' lon='+13.4' a:b='1' xmlns:a='u'/>"""
    ),
    "latin-1": osm(BASE, head='<?xml version="1.0" encoding="ISO-8859-1"?>\n'),
    "way without nodes": osm(BASE + '<way id="16"><tag k="highway" v="primary"/></way>'),
    "empty osm": osm(""),
    "duplicate ids": osm(BASE + '<node id="1" lat="1.0" lon="1.0"/><way id="10"/>'),
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
@pytest.mark.parametrize("hazard_file", [False, True])
def test_ordinary_oddities_read_the_same(tmp_path: Path, name: str, hazard_file: bool) -> None:
    text = ORDINARY[name]
    latin = "ISO-8859-1" in text
    path = write(tmp_path, text.encode("latin-1" if latin else "utf-8"))
    assert_same_state(fast_state(path, hazard_file), reference_state(path, hazard_file))
    assert_same_outcome(path, hazard_file)


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, osm(BASE), "map.osm.gz")
    assert_same_state(fast_state(path), reference_state(path))


# --------------------------------------------------------------------------- given up on

#: XML the fast reader leaves to the reference reader, which gives the result or error.
GIVEN_UP = {
    "doctype": osm(BASE, head='<?xml version="1.0"?>\n<!DOCTYPE osm>\n'),
    "doctype after a comment": osm(BASE, head="<!-- <osm> -->\n<!DOCTYPE osm [\n]>\n"),
    "entity without a dtd": osm(BASE.replace("Hauptstraße", "&foo;")),
    "name not xml 4th edition": osm(BASE + "<nodeĲ/>"),
    "attribute not xml 4th edition": osm(BASE + '<meta aĲ="1"/>'),
    "attribute name after a value": osm(BASE + '<meta a=">" Ĳ="1"/>'),
    "pi target not xml 4th edition": osm(BASE + "<?Ĳ x?>"),
    "non-ascii names xml 4th edition allows": osm(BASE + '<méta é="1"/>'),
    "node in a node": osm(
        BASE + '<node id="4" lat="1" lon="1"><node id="5" lat="1" lon="1"/></node>'
    ),
    "node in another element": osm(BASE + '<group><node id="4" lat="1" lon="1"/></group>'),
    "way in a way": osm(BASE + '<way id="30"><way id="31"><nd ref="1"/></way></way>'),
    "child of an nd": osm(BASE + '<way id="30"><nd ref="1"><tag k="a" v="b"/></nd></way>'),
    "bounds in a relation": osm(
        BASE + '<relation id="1"><bounds minlat="1" minlon="1" maxlat="2" maxlon="2"/></relation>'
    ),
    "deleted node with a way inside": osm(
        BASE + '<node id="4" action="delete"><way id="40"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="primary"/></way></node>'
    ),
    "osm in osm": osm(BASE + '<osm><node id="4" lat="1" lon="1"/></osm>'),
    "declared utf8": osm(BASE, head='<?xml version="1.0" encoding="utf8"?>\n'),
    "declared latin-1": osm(BASE, head='<?xml version="1.0" encoding="latin-1"?>\n'),
    "declared windows-1252": osm(BASE, head='<?xml version="1.0" encoding="windows-1252"?>\n'),
    "declared unknown": osm(BASE, head='<?xml version="1.0" encoding="UTF-18"?>\n'),
    "xml 1.1": osm(BASE, head='<?xml version="1.1"?>\n'),
    "namespaced root": osm(BASE).replace('<osm version="0.6">', '<osm xmlns="http://x">'),
    "other root": osm(BASE).replace("osm", "gpx"),
    "truncated": osm(BASE)[:-40],
    "junk after the root": osm(BASE) + "<osm/>",
    "lt in a value": osm(BASE.replace("Hauptstraße", "a<b")),
    "bad node id": osm(BASE + '<node id="x" lat="1" lon="1"/>'),
    "bad unplaced node id": osm(BASE + '<node id="1.5"/>'),
    "node id over 64 bits": osm(BASE + '<node id="9223372036854775808" lat="1" lon="1"/>'),
    "bad way id": osm(BASE + '<way id=""><nd ref="1"/></way>'),
    "bad ref": osm(BASE + '<way id="30"><nd ref="one"/></way>'),
    "ref over 64 bits": osm(BASE + '<way id="30"><nd ref="-9223372036854775809"/></way>'),
    "nd without ref": osm(BASE + '<way id="30"><nd/></way>'),
    "off the globe": osm(BASE + '<node id="4" lat="91" lon="1"/>'),
    "nan": osm(BASE + '<node id="4" lat="nan" lon="1"/>'),
    "unreadable lat": osm(BASE + '<node id="4" lat="north" lon="1"/>'),
    "duplicate attribute": osm(BASE + '<node id="4" id="5" lat="1" lon="1"/>'),
    "utf-16": osm(BASE, head='<?xml version="1.0" encoding="UTF-16"?>\n'),
}


@pytest.mark.parametrize("name", sorted(GIVEN_UP))
def test_anything_else_is_the_reference_readers(tmp_path: Path, name: str) -> None:
    text = GIVEN_UP[name]
    path = write(tmp_path, text.encode("utf-16" if name == "utf-16" else "utf-8"))
    assert fast_state(path) is None
    assert_same_outcome(path)


def test_huge_ids_are_a_layer_error_not_a_crash(tmp_path: Path) -> None:
    for body in (
        '<node id="9223372036854775808" lat="1" lon="1"/>',
        '<way id="-9223372036854775809"><nd ref="1"/></way>',
        '<way id="1"><nd ref="99999999999999999999"/></way>',
    ):
        path = write(tmp_path, osm(BASE + body))
        with pytest.raises(LayerError, match=r"out of range|non-numeric"):
            fast_read(path)


@pytest.mark.parametrize("encoding", ["UTF-18", "shift_jis", "rot13"])
def test_an_unreadable_encoding_is_a_layer_error_not_a_crash(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, osm(BASE, head=f'<?xml version="1.0" encoding="{encoding}"?>\n'))
    with pytest.raises(LayerError, match="declares an encoding that cannot be read"):
        fast_read(path)
    assert_same_outcome(path)


def test_a_huge_relation_member_names_no_way(tmp_path: Path) -> None:
    relation = (
        '<relation id="20"><member type="way" ref="99999999999999999999"/>'
        '<member type="way" ref="11"/><tag k="type" v="multipolygon"/>'
        '<tag k="leisure" v="park"/></relation>'
    )
    path = write(tmp_path, osm(BASE + relation))
    assert_same_state(fast_state(path), reference_state(path))
    assert_same_outcome(path)
    assert "park" in fast_read(path).classes.tolist()


def test_a_cut_name_at_a_chunk_boundary_is_seen(tmp_path: Path) -> None:
    path = write(tmp_path, osm(BASE + '<meta aaaaaaaaaaĲ="1"/>'))
    for chunk_bytes in range(1, 40):
        with chunks(chunk_bytes, 1):
            assert fast_state(path) is None


def test_a_long_value_with_a_bad_name_after_it_is_seen(tmp_path: Path) -> None:
    with mock.patch.object(_osm_lxml, "MAX_MARKUP_BYTES", 100), chunks(16, 16):
        path = write(tmp_path, osm(BASE + f'<meta a="{"x" * 300}" Ĳ="1"/>'))
        assert fast_state(path) is None
        path = write(tmp_path, osm(BASE + f'<note a="b">{"é" * 300}</note>'))
        assert_same_state(fast_state(path), reference_state(path))


def test_corrupt_gzip_gives_the_reference_error(tmp_path: Path) -> None:
    data = gzip.compress(osm(BASE * 200).encode())
    path = write(tmp_path, data[: len(data) // 2] + b"\x00" * 64 + data[len(data) // 2 :])
    assert_same_outcome(path)
    cut = write(tmp_path, data[: len(data) // 2], "cut.osm")
    assert_same_outcome(cut)


# --------------------------------------------------------------------------- hostile input

HOSTILE = {
    "billion laughs": '<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {c} "{f"&{p};" * 10}">' for p, c in zip("abcdefg", "bcdefgh", strict=True))
    + "]>",
    "xxe": '<!DOCTYPE osm [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    "parameter entity": '<!DOCTYPE osm [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    "external dtd": '<!DOCTYPE osm SYSTEM "http://127.0.0.1:9/osm.dtd">',
    "quadratic": '<!DOCTYPE osm [<!ENTITY a "' + "A" * 50_000 + '">]>',
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
@pytest.mark.parametrize("name", ["evil.osm", "evil.osm.gz"])
def test_hostile_xml_never_reaches_lxml(tmp_path: Path, attack: str, name: str) -> None:
    use = {"billion laughs": "&h;", "xxe": "&secret;", "quadratic": "&a;" * 1000}.get(attack, "x")
    text = (
        '<?xml version="1.0"?>\n'
        + HOSTILE[attack]
        + "\n"
        + osm(BASE.replace("Hauptstraße", use), head="")
    )
    path = write(tmp_path, text, name)

    def no_parser(*args: object, **kwargs: object) -> None:
        raise AssertionError("lxml was given a document type")

    with mock.patch.object(_osm_lxml.etree, "XMLPullParser", no_parser):
        assert fast_state(path) is None
        start = time.perf_counter()
        with pytest.raises(LayerError, match="DTD") as err:
            fast_read(path)
    assert time.perf_counter() - start < 1.0
    assert "root:" not in str(err.value) and "\n" not in str(err.value)
    assert str(err.value) == outcome(lambda: reference_read(path))[1]


# --------------------------------------------------------------------------- property


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, bool]:
    """A small OSM XML text, and whether it is plain (the fast reader must read it)."""
    plain = draw(st.booleans())
    ids = st.sampled_from(["1", "2", "3", "4", "5"])
    odd_ids = st.sampled_from(["", "x", "1_0", " 7", "+4", "-3", "99999999999999999999"])
    coords = st.sampled_from(["52.51", "13.4", "-0", "0", "52.5100001", " 13.41", "1e1"])
    odd_coords = st.sampled_from(["nan", "95", "", "inf", "north", "-181"])
    words = st.sampled_from(
        ["highway", "primary", "service", "footway", "name", "é ü", "park", "leisure", "hazard",
         "pothole", "area", "no", "", "&amp;", "&#233;", "type", "multipolygon", "landuse",
         "grass", "motor_vehicle"]
    )  # fmt: skip

    def attrs(pairs: list[tuple[str, str]]) -> str:
        order = draw(st.permutations(pairs))
        return "".join(f' {k}="{v}"' for k, v in order)

    def tags() -> str:
        pairs = draw(st.lists(st.tuples(words, words), max_size=3))
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in pairs)

    def hidden() -> list[tuple[str, str]]:
        return draw(
            st.sampled_from(
                [[], [], [("action", "delete")], [("visible", "false")], [("visible", "true")]]
            )
        )

    items = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["node", "node", "way", "relation", "bounds", "other"]))
        id_ = draw(ids if plain else st.one_of(ids, odd_ids))
        if kind == "node":
            pos = [("lat", draw(coords)), ("lon", draw(coords))]
            if not plain:
                pos = [(k, draw(st.one_of(coords, odd_coords))) for k, _ in pos]
                pos = draw(st.lists(st.sampled_from(pos), unique=True))
            body = tags() if draw(st.booleans()) else ""
            start = f"<node{attrs([('id', id_), *pos, *hidden()])}"
            items.append(f"{start}>{body}</node>" if body else f"{start}/>")
        elif kind == "way":
            nds = [f'<nd ref="{draw(ids)}"/>' for _ in range(draw(st.integers(0, 4)))]
            items.append(f"<way{attrs([('id', id_), *hidden()])}>{''.join(nds)}{tags()}</way>")
        elif kind == "relation":
            members = "".join(
                f'<member type="{draw(st.sampled_from(["way", "node"]))}" ref="{draw(ids)}"/>'
                for _ in range(draw(st.integers(0, 3)))
            )
            multi = '<tag k="type" v="multipolygon"/>' if draw(st.booleans()) else ""
            start = f"<relation{attrs([('id', id_), *hidden()])}>"
            items.append(f"{start}{members}{multi}{tags()}</relation>")
        elif kind == "bounds":
            box = [(k, draw(coords)) for k in ("minlat", "minlon", "maxlat", "maxlon")]
            items.append(f"<bounds{attrs(box)}/>")
        else:
            items.append(draw(st.sampled_from(
                ["<!-- é -->", "<?pi x?>", "<note>ü</note>", '<meta a="b"/>', "\n  ",
                 "<![CDATA[<]]>"]
            )))  # fmt: skip
        if not plain and draw(st.integers(0, 9)) == 0:
            items.append(draw(st.sampled_from([
                '<group><node id="9" lat="1" lon="1"/></group>', "<nodeĲ/>", "&foo;",
                '<node id="8" lat="1" lon="1"><node id="7" lat="1" lon="1"/></node>',
                '<way id="6"><nd ref="1"><x/></nd></way>', '<meta Ĳ="1"/>', "<osm/>",
                '<node id="5" lat="1" lon="1"><nd ref="1"/></node>',
            ])))  # fmt: skip
    head = draw(st.sampled_from(
        ['<?xml version="1.0" encoding="UTF-8"?>\n', "", "<!-- x -->", "\ufeff"]
        + ([] if plain else ['<!DOCTYPE osm [<!ENTITY foo "bar">]>', '<?xml version="1.1"?>'])
    ))  # fmt: skip
    text = osm("\n".join(items), head=head)
    if not plain and draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text, plain


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    doc=documents(),
    chunk_bytes=st.sampled_from([1, 5, 64, 16384]),
    batch_bytes=st.sampled_from([1, 200, 65536]),
    hazard_file=st.booleans(),
)
def test_fast_reader_is_the_reference_reader(
    tmp_path_factory: pytest.TempPathFactory,
    doc: tuple[str, bool],
    chunk_bytes: int,
    batch_bytes: int,
    hazard_file: bool,
) -> None:
    text, plain = doc
    path = write(tmp_path_factory.mktemp("doc"), text)
    ref = outcome(lambda: reference_read(path, hazard_file=hazard_file))
    with chunks(chunk_bytes, batch_bytes):
        if plain:
            assert_same_state(fast_state(path, hazard_file), reference_state(path, hazard_file))
        assert outcome(lambda: fast_read(path, hazard_file=hazard_file)) == ref
