"""The designed sample sessions: one training diary each, with what it is meant to show.

Every session starts at the park's west gate, warms up on the Rundweg loop (except
``no_warmup``), runs its reverse sections where the design needs them, recovers by
walking and standing between them, and jogs back to the gate. The lap file of each
session names its points in a different accepted way, so that together they cover
every format and label the lap-file reader takes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sample_formats import LapRow, LapStyle
from sample_motion import Athlete, Plan, Recording, arc, render
from sample_venue import (
    TRACK_CENTRE,
    TRACK_CHUTE_WEST_X,
    TRACK_HALF_STRAIGHT_M,
    TRACK_LANE1_RADIUS_M,
    VELO_CENTRE,
    VELO_HALF_STRAIGHT_M,
    VELO_LANE_RADIUS_M,
    loop_path,
    stadium,
)

#: The west gate by the Ahornstraße, where every session starts and ends.
GATE = (5.0, 160.0)
CREATOR = "Garmin Connect"

Point = tuple[float, float]
#: A reverse section as laid out: path, speed (m/s), design note, expected reason codes.
Laid = tuple[Sequence[Point] | np.ndarray, float, str, tuple[str, ...]]


@dataclass(frozen=True)
class Session:
    """A designed session and how its files are written."""

    name: str  # file stem
    folder: str  # "" or a sub-folder of sample_tracks/
    title: str  # the track's <name>
    shows: str  # what it is designed to show, in words
    plan: Plan
    athlete: Athlete
    lap_style: LapStyle
    labels: tuple[str, ...]  # labels of the reverse rows, repeated as needed
    context: bool  # write "warmup"/"forward" rows for labelled legs

    def rng(self, seed: int) -> np.random.Generator:
        """The session's own random stream: the same whichever sessions are generated."""
        return np.random.default_rng([seed, zlib.crc32(self.name.encode()), 1])


def plan_rng(seed: int, name: str) -> np.random.Generator:
    """Random stream for laying out a session's plan (recovery times and the like)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), 0])


def start(name: str, when: str) -> Plan:
    """A plan starting at the gate at ``when`` (ISO, UTC), waiting for a GPS fix."""
    t = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return Plan(name, t, GATE).stand(15)


def warm_up(p: Plan, minutes: float, finish: Point, speed_mps: float = 2.8) -> Plan:
    """Jog the Rundweg loop and on to ``finish`` (by the first reverse section), about
    ``minutes`` in all."""
    total = minutes * 60 * speed_mps
    on_loop = total
    for _ in range(4):  # leave the loop where the rest of the way makes up the total
        exit_xy = p.point_along(loop_path(), on_loop)
        on_loop = total - float(np.hypot(*(np.asarray(finish) - exit_xy)))
    return p.along("jog", loop_path(), on_loop, speed_mps, label="warmup", then=[finish])


def stretch(p: Plan, at: Point, seconds: float = 60) -> Plan:
    """Walk to ``at`` and stretch (knees, ankles) before the first reverse section."""
    return p.move("walk", [at], 1.4).stand(seconds)


def recover(p: Plan, rng: np.random.Generator, to: Point, jog: bool = False) -> Plan:
    """Recovery: walk (or jog, a 'forward' context lap) to ``to``, then stand."""
    if jog:
        p.move("jog", [to], 2.6, label="forward")
    else:
        p.move("walk", [to], float(rng.uniform(1.15, 1.4)))
    return p.stand(int(rng.integers(20, 46)))


def go_home(p: Plan, via: list[Point] | None = None) -> Plan:
    """Cool down: jog back to the gate and stop the watch."""
    return p.move("jog", [*(via or []), GATE], 2.5).stand(5)


def sections(p: Plan, rng: np.random.Generator, laid: Sequence[Laid]) -> Plan:
    """Reverse sections in order, each followed by a walking/standing recovery towards
    the next one's start."""
    for k, (path, speed, design, expect) in enumerate(laid):
        path = np.asarray(path, float)
        p.reverse(path, speed, design, expect)
        nxt = np.asarray(laid[k + 1][0], float)[0] if k + 1 < len(laid) else path[-1]
        p.stand(int(rng.integers(4, 9)))
        recover(p, rng, (float(nxt[0]), float(nxt[1])))
    return p


def lane1_home_y() -> float:
    """y of lane 1 on the home (south) straight of the athletics track."""
    return TRACK_CENTRE[1] - TRACK_LANE1_RADIUS_M


def track_lane1() -> np.ndarray:
    """Lane 1 of the athletics track as a closed polyline, counter-clockwise (the
    running direction), starting where the home straight begins."""
    ring = stadium(*TRACK_CENTRE, TRACK_HALF_STRAIGHT_M, TRACK_LANE1_RADIUS_M, 24)
    return np.vstack([ring, ring[:1]])


# --- the sessions ---------------------------------------------------------------------


def clean_meadow(seed: int) -> Session:
    """Six straight sections on the Große Wiese, everything ok."""
    rng = plan_rng(seed, "clean_meadow")
    p = warm_up(start("clean_meadow", "2024-04-06T06:10:00"), 12.0, (60, 226))
    stretch(p, (60, 226))
    ok = ()
    sections(
        p,
        rng,
        [
            ([(60, 230), (138, 230)], 2.4, "straight 78 m on grass, east", ok),
            ([(140, 250), (68, 250)], 2.3, "straight 72 m on grass, west", ok),
            ([(180, 215), (250, 215)], 2.5, "straight 70 m on grass", ok),
            ([(255, 235), (190, 282)], 2.4, "straight 80 m on grass, diagonal", ok),
            (
                [(70, 298), (150, 298)],
                2.6,
                "straight 80 m on grass, 22 m from the car-free Alter Parkweg (motor_vehicle=no)",
                ok,
            ),
            ([(160, 270), (230, 270)], 2.5, "straight 70 m on grass", ok),
        ],
    )
    go_home(p)
    return Session(
        "clean_meadow",
        "",
        "Rückwärts auf der Großen Wiese",
        "a clean session: six straight 70-80 m sections on grass, well away "
        "from roads; every segment ok",
        p,
        Athlete(),
        "iso_z",
        ("reverse",),
        True,
    )


def short_and_long(seed: int) -> Session:
    """A section that is too short and one that is too long."""
    rng = plan_rng(seed, "short_and_long")
    p = warm_up(start("short_and_long", "2024-04-09T16:30:00"), 11.5, (60, 216))
    stretch(p, (60, 216))
    sections(
        p,
        rng,
        [
            ([(60, 220), (132, 220)], 2.4, "straight 72 m on grass", ()),
            ([(150, 240), (180, 240)], 2.2, "straight 30 m: too short", ("too_short",)),
            ([(255, 260), (105, 260)], 2.5, "straight 150 m: too long", ("too_long",)),
            ([(80, 285), (155, 285)], 2.4, "straight 75 m on grass", ()),
        ],
    )
    go_home(p)
    return Session(
        "short_and_long",
        "",
        "Kurz und lang",
        "too_short (a 30 m section) and too_long (a 150 m section) between two good ones",
        p,
        Athlete(),
        "elapsed_hms",
        ("backward",),
        False,
    )


def curved(seed: int) -> Session:
    """An arc and a 90 degree bend: not straight."""
    rng = plan_rng(seed, "curved")
    p = warm_up(start("curved", "2024-04-13T07:05:00"), 12.5, (70, 211))
    stretch(p, (70, 211))
    sections(
        p,
        rng,
        [
            (
                arc((70, 215), (132, 215), 22.0),
                2.2,
                "arc round a group of trees: chord 62 m, 22 m off the chord",
                ("not_straight",),
            ),
            (
                [(170, 210), (212, 210), (212, 252)],
                2.2,
                "90 degree bend, legs of 42 m: 30 m off the chord",
                ("not_straight",),
            ),
            ([(250, 290), (180, 290)], 2.4, "straight 70 m on grass", ()),
        ],
    )
    go_home(p)
    return Session(
        "curved",
        "",
        "Kurven",
        "not_straight: a curved arc and a 90 degree bend",
        p,
        Athlete(),
        "elapsed_ms",
        ("Retro", "retro", "RETRO"),
        False,
    )


def hill(seed: int) -> Session:
    """Up and down the Rodelberg at about 8 %."""
    rng = plan_rng(seed, "hill")
    p = warm_up(start("hill", "2024-04-16T05:40:00"), 12.0, (26, 76))
    stretch(p, (26, 76))
    sections(
        p,
        rng,
        [
            (
                [(30, 80), (100, 80)],
                1.8,
                "70 m straight up the Rodelberg, about 8 % grade",
                ("steep",),
            ),
            (
                [(134, 94), (184, 144)],
                2.0,
                "71 m straight down the Rodelberg, about 8 % grade",
                ("steep",),
            ),
            ([(80, 240), (150, 240)], 2.4, "straight 70 m on the flat meadow", ()),
        ],
    )
    go_home(p)
    return Session(
        "hill",
        "",
        "Rodelberg",
        "steep: sections up and down an 8 % slope",
        p,
        Athlete(),
        "metres",
        ("r", "R"),
        False,
    )


def gps_gap(seed: int) -> Session:
    """A section with a 35 s GPS dropout; forward jogs between sections."""
    rng = plan_rng(seed, "gps_gap")
    p = warm_up(start("gps_gap", "2024-04-20T06:00:00"), 12.0, (60, 226))
    stretch(p, (60, 226))
    p.reverse([(60, 230), (135, 230)], 2.3, "straight 75 m on grass", ())
    p.stand(6)
    recover(p, rng, (250, 252), jog=True)
    p.reverse(
        [(250, 250), (170, 250)],
        1.4,
        "straight 80 m walked backwards; the watch lost GPS for 35 s",
        ("gps_gap",),
        dropout=(12, 47),
    )
    p.stand(6)
    recover(p, rng, (70, 276), jog=True)
    p.reverse([(70, 280), (145, 280)], 2.4, "straight 75 m on grass", ())
    p.stand(5)
    go_home(p)
    return Session(
        "gps_gap",
        "",
        "Funkloch",
        "gps_gap: a 35 s dropout in the middle of a "
        "section; forward jogs between sections as context laps",
        p,
        Athlete(),
        "iso_naive",
        ("",),
        True,
    )


def borderline(seed: int) -> Session:
    """True chords of exactly 100 m and 50 m: measured values sit on the thresholds."""
    rng = plan_rng(seed, "borderline")
    p = warm_up(start("borderline", "2024-04-23T16:45:00"), 12.0, (60, 211))
    stretch(p, (60, 211))
    sections(
        p,
        rng,
        [
            (
                [(60, 215), (160, 215)],
                2.5,
                "straight 100 m: on the too_long threshold",
                ("borderline",),
            ),
            (
                [(200, 240), (150, 240)],
                2.2,
                "straight 50 m: on the too_short threshold",
                ("borderline",),
            ),
            ([(60, 265), (135, 265)], 2.4, "straight 75 m on grass", ()),
            (
                [(250, 290), (150, 290)],
                2.6,
                "straight 100 m: on the too_long threshold",
                ("borderline",),
            ),
        ],
    )
    go_home(p)
    return Session(
        "borderline",
        "",
        "Grenzfälle",
        "borderline: true chords of 100 m and 50 m, so the measured value lies "
        "within its uncertainty of a threshold",
        p,
        Athlete(),
        "km",
        ("REVERSE",),
        False,
    )


def no_warmup(seed: int) -> Session:
    """Straight into reverse running after a three-minute walk."""
    rng = plan_rng(seed, "no_warmup")
    p = start("no_warmup", "2024-04-27T07:30:00")
    p.move("walk", [(40, 170), (100, 190), (60, 226)], 1.35).stand(45)
    sections(
        p,
        rng,
        [
            ([(60, 230), (135, 230)], 2.3, "straight 75 m on grass", ()),
            ([(140, 250), (70, 250)], 2.3, "straight 70 m on grass", ()),
            ([(180, 215), (250, 215)], 2.4, "straight 70 m on grass", ()),
            ([(240, 270), (165, 270)], 2.4, "straight 75 m on grass", ()),
            ([(80, 290), (150, 290)], 2.5, "straight 70 m on grass", ()),
        ],
    )
    go_home(p)
    return Session(
        "no_warmup",
        "",
        "Ohne Aufwärmen",
        "no_warmup: the first reverse section starts about 3 minutes in; the "
        "sections themselves are fine",
        p,
        Athlete(),
        "iso_z",
        ("Reverse", "BACKWARD", "retro", "r", ""),
        False,
    )


def roadside(seed: int) -> Session:
    """Sections too close to traffic and hazards."""
    rng = plan_rng(seed, "roadside")
    p = warm_up(start("roadside", "2024-04-30T17:10:00"), 12.0, (2, 56))
    stretch(p, (2, 56))
    sections(
        p,
        rng,
        [
            (
                [(-2, 60), (-2, 135)],
                2.4,
                "straight 75 m along the park edge, 13 m from the residential Ahornstraße",
                ("near_road",),
            ),
            (
                [(262, 120), (338, 120)],
                2.4,
                "straight 76 m across the service road Parkwirtschaftsweg",
                ("crosses_road", "near_road"),
            ),
            (
                [(378, 97), (453, 97)],
                2.3,
                "straight 75 m passing 1 m from a construction pit (hazard=pit)",
                ("near_hazard",),
            ),
            (
                [(462, 43), (537, 43)],
                2.3,
                "straight 75 m along a raised kerb 3 m away (hazard=kerb)",
                ("near_hazard",),
            ),
        ],
    )
    go_home(p, via=[(300, 60)])
    return Session(
        "roadside",
        "",
        "Am Straßenrand",
        "the map layer's unsafe verdicts: near_road (13 m from a residential "
        "road), crosses_road (across the service road), near_hazard (a pit and a "
        "kerb)",
        p,
        Athlete(),
        "iso_offset",
        ("reverse",),
        True,
    )


def plaza(seed: int) -> Session:
    """Sections off any soft venue, and a paused watch (two recording parts)."""
    rng = plan_rng(seed, "plaza")
    p = warm_up(start("plaza", "2024-05-04T06:30:00"), 11.5, (628, 326))
    p.stand(50)
    y_south = VELO_CENTRE[1] - VELO_LANE_RADIUS_M
    y_north = VELO_CENTRE[1] + VELO_LANE_RADIUS_M
    x_w, x_e = VELO_CENTRE[0] - VELO_HALF_STRAIGHT_M, VELO_CENTRE[0] + VELO_HALF_STRAIGHT_M
    sections(
        p,
        rng,
        [
            (
                [(632, 330), (707, 330)],
                2.4,
                "straight 75 m on the paved Weiherplatz, a pedestrian plaza",
                ("no_soft_venue", "crowded"),
            ),
            (
                [(705, 300), (705, 370)],
                2.4,
                "straight 70 m on the paved Weiherplatz, a pedestrian plaza",
                ("no_soft_venue", "crowded"),
            ),
        ],
    )
    p.pause(240, to=(690, 300))  # watch paused at the kiosk, walked on meanwhile
    p.move("walk", [(680, 240), (x_w + 4, y_south + 3)], 1.3).stand(30)
    sections(
        p,
        rng,
        [
            (
                [(x_w + 4, y_south), (x_e - 4, y_south)],
                2.5,
                "straight 62 m on a cycling track (leisure=track, sport=cycling)",
                ("no_soft_venue",),
            ),
            (
                [(x_e - 4, y_north), (x_w + 4, y_north)],
                2.5,
                "straight 62 m on the cycling track's back straight",
                ("no_soft_venue",),
            ),
            ([(560, 225), (560, 150)], 2.4, "straight 75 m on the park's lawn", ()),
        ],
    )
    go_home(p)
    return Session(
        "plaza",
        "",
        "Platz und Radbahn",
        "no_soft_venue (a paved plaza, and a cycling track that is not a running "
        "venue); the watch was paused at a kiosk, so the track has two recording "
        "parts and the lap file's distances skip the pause",
        p,
        Athlete(),
        "metres_km",
        ("reverse", "Reverse"),
        True,
    )


def track_smart(seed: int) -> Session:
    """Athletics-track sections recorded with smart recording."""
    rng = plan_rng(seed, "track_smart")
    y_home = lane1_home_y()
    y_back = TRACK_CENTRE[1] + TRACK_LANE1_RADIUS_M
    x_w, x_e = TRACK_CENTRE[0] - 40, TRACK_CENTRE[0] + 40
    p = warm_up(start("track_smart", "2024-05-07T05:50:00"), 12.0, (x_w - 5, y_home - 3))
    stretch(p, (x_w - 5, y_home - 3))
    sections(
        p,
        rng,
        [
            ([(x_w, y_home), (x_e, y_home)], 2.5, "80 m on the home straight", ()),
            ([(x_e, y_back), (x_w, y_back)], 2.5, "80 m on the back straight", ()),
            ([(x_w, y_home), (x_e, y_home)], 2.6, "80 m on the home straight", ()),
            ([(x_e, y_back), (x_w, y_back)], 2.6, "80 m on the back straight", ()),
        ],
    )
    go_home(p, via=[(400, 320)])
    return Session(
        "track_smart",
        "",
        "Bahnrunden (Smart Recording)",
        "smart recording (points 1-7 s apart) on the athletics track; every segment ok",
        p,
        Athlete(sampling="smart"),
        "elapsed_hms",
        ("Reverse",),
        False,
    )


def dusk(seed: int) -> Session:
    """A November evening after dusk: the line of sight, the light, bikes, private ground."""
    rng = plan_rng(seed, "dusk")
    p = warm_up(start("dusk", "2024-11-12T16:20:00"), 12.0, (145, 331))
    stretch(p, (145, 331))
    sections(
        p,
        rng,
        [
            (
                [(150, 335), (225, 335)],
                2.3,
                "straight 75 m on the lit Uferweg (lit=yes): fine after dusk",
                (),
            ),
            (
                [(340, 365), (410, 365)],
                2.3,
                "straight 70 m across the private Tennisclub (access=private) in the dark",
                ("private", "dark"),
            ),
            (
                [(574, 65), (574, 135)],
                2.2,
                "straight 70 m a metre beside a row of poplars (natural=tree_row), unlit",
                ("obstacle", "dark"),
            ),
            (
                [(610, 120), (610, 195)],
                2.4,
                "straight 75 m on the Parkrandweg cycleway, unlit",
                ("shared_with_bikes", "dark", "no_soft_venue"),
            ),
        ],
    )
    go_home(p, via=[(560, 200), (300, 240)])
    return Session(
        "dusk",
        "",
        "Abendrunde",
        "a November evening after dusk: a lit footway is fine; private ground, a row of "
        "trees a metre away and a cycleway are not, and each is dark",
        p,
        Athlete(),
        "iso_z",
        ("reverse",),
        False,
    )


@dataclass(frozen=True)
class WatchSession:
    """A session written as GPX, TCX and FIT with the lap button pressed at the start
    and end of each reverse section."""

    session: Session
    lap_press_s: tuple[int, ...]  # seconds since start at which a lap began
    reverse_laps: tuple[int, ...]  # 1-based numbers of the reverse laps


def track_intervals(seed: int) -> WatchSession:
    """Reverse intervals on the athletics track, walking the rest of each lap."""
    rng = plan_rng(seed, "track_intervals")
    y_home = lane1_home_y()
    x_start, x_end = TRACK_CENTRE[0] - 40, TRACK_CENTRE[0] + 40
    p = warm_up(start("track_intervals", "2024-05-11T06:15:00"), 12.0, (x_start, y_home - 3))
    stretch(p, (x_start, y_home - 3), 60)
    lane = track_lane1()
    reps = [
        (x_start, "80 m on the home straight", ()),
        (x_start, "80 m on the home straight", ()),
        (
            TRACK_CHUTE_WEST_X + 1,
            "118 m from the sprint start down the straight: too long",
            ("too_long",),
        ),
        (x_start, "80 m on the home straight", ()),
    ]
    presses: list[int] = [0]
    for k, (x0, design, expect) in enumerate(reps):
        p.move("walk", [(x0, y_home)], 1.3).stand(6)  # in position, then the lap button
        presses.append(p.clock_s)
        p.reverse([(x0, y_home), (x_end, y_home)], 2.5, design, expect)
        p.stand(1)  # stopped; the lap button a second later closes the lap at the stop
        presses.append(p.clock_s)
        p.stand(int(rng.integers(2, 5)))
        if k + 1 == len(reps):
            break
        # Walk on round the bends back to the start of the straight (over 300 m).
        x_next = reps[k + 1][0]
        around = lane[np.argsort(np.hypot(*(lane - [x_end, y_home]).T))[0] :]
        p.move("walk", [*map(tuple, around[1:]), (x_next, y_home)], 1.45)
        p.stand(int(rng.integers(15, 30)))
    go_home(p, via=[(400, 320), (200, 330)])
    session = Session(
        "track_intervals",
        "watch",
        "Bahnintervalle mit Rundentaste",
        "the same run as GPX + lap file, TCX and FIT: the lap button was "
        "pressed at the start and end of each reverse section; laps 2, 4, 6 "
        "and 8 are reverse, lap 6 too long",
        p,
        Athlete(),
        "iso_z",
        ("reverse",),
        False,
    )
    return WatchSession(session, tuple(presses), (2, 4, 6, 8))


SESSIONS: dict[str, Callable[[int], Session]] = {
    f.__name__: f
    for f in (
        clean_meadow,
        short_and_long,
        curved,
        hill,
        gps_gap,
        borderline,
        no_warmup,
        roadside,
        plaza,
        track_smart,
        dusk,
    )
}


def lap_rows(session: Session, rec: Recording) -> list[LapRow]:
    """Lap-file rows: each reverse leg from its first to its last point, plus context
    rows for labelled legs (never sharing a point with a reverse row)."""
    labels = session.labels
    rows: list[LapRow] = []
    taken: set[int] = set()
    k = 0
    for leg in session.plan.legs:
        i0, i1 = (int(i) for i in np.searchsorted(rec.t, [leg.t0, leg.t1]))
        if leg.kind == "reverse":
            rows.append(LapRow(i0, i1, labels[k % len(labels)]))
            taken.update((i0, i1))
            k += 1
    for leg in session.plan.legs:
        if leg.label and session.context:
            i0, i1 = (int(i) for i in np.searchsorted(rec.t, [leg.t0, leg.t1]))
            i0, i1 = i0 + (i0 in taken), i1 - (i1 in taken)
            rows.append(LapRow(i0, i1, leg.label))
    return sorted(rows, key=lambda r: r.first)


def record(session: Session, seed: int) -> Recording:
    """Render a session into what the watch recorded."""
    return render(session.plan, session.athlete, session.rng(seed))
