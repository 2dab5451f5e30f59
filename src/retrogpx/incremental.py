"""Incremental batches: check only what changed, into a season store.

A batch call names its runs (files, folders, export archives); the store
(:mod:`retrogpx.store`) holds every run checked before, keyed by the hash of its bytes
and stamped with what its result was computed with. :func:`plan_batch` sorts this
call's runs into

* **unchanged**: same bytes, same settings fingerprint: not read again; a file that
  moved or was renamed only has its path (and athlete) updated;
* **to check**, with the reason: ``new``, ``content changed`` (the file at a known path
  holds other bytes: the new run replaces the old), ``rules changed`` (thresholds,
  metrics, GPS model, classes, lap time zone, size limits), ``map layers changed``
  (their bytes), ``lap source changed`` (the lap file's bytes, its rows of the season
  lap table, the ``--reverse-laps`` choice), ``activity types changed`` (an export's
  activity skipped for its type is now chosen, or the reverse), ``retrogpx version
  changed``, ``failed last time`` (a worker died or a bug), ``--rebuild``.

The season settings (progression thresholds, energy) change only the summary, so they
re-check nothing. A file is hashed only when its stat stamp (size, mtime, ctime, inode)
differs from the one the store remembers, as git's index does; an archive member only
when its archive's stamp, or its name, size and CRC-32, are new. :func:`run_planned`
then checks the runs with any executor and writes each outcome to the store in its
own transaction as it arrives (only this process writes; workers compute).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from .archives import Member, member_hashes, type_chosen
from .batch import BatchOptions, BatchResult, RunSource, run_batch
from .config import Config
from .fileid import file_hash
from .outcome import FileOutcome
from .store import FileStamp, RunKey, SeasonStore, StoredRun, tool_version
from .text import readable


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def rules_fingerprint(config: Config) -> str:
    """What in the settings changes a run's result: thresholds, metrics and the GPS
    model, layer classes, the lap time zone, size limits (not the season settings, which
    change only the summary, nor the layer file names)."""
    parts = {
        name: dataclasses.asdict(getattr(config, name))
        for name in ("rules", "metrics", "laps", "limits", "classes")
    }
    return _digest(json.dumps(parts, sort_keys=True, default=str))


class FileStamps:
    """Content hashes of files, taken from the store when a file's stat stamp is the one
    it remembers, else computed (and remembered by :meth:`save`)."""

    def __init__(self, known: dict[str, FileStamp]) -> None:
        self.known = known
        self.new: list[FileStamp] = []
        self.hashed = 0

    def hash_of(self, path: str) -> str | None:
        """The hash of the file at ``path`` (absolute), or None when it cannot be read.
        It is remembered by the path as the store keeps it (:func:`~retrogpx.text.readable`)."""
        key = readable(path)
        try:
            st = os.stat(path)
            seen = self.known.get(key)
            if seen is not None and (seen.size, seen.mtime_ns, seen.ctime_ns, seen.inode) == (
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
            ):
                return seen.content_hash
            digest = file_hash(path)
        except OSError:
            return None
        self.hashed += 1
        stamp = FileStamp(
            key, None, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, None, digest
        )
        self.known[key] = stamp
        self.new.append(stamp)
        return digest

    def member_hashes(self, members: Sequence[Member]) -> dict[str, str | None]:
        """The hashes of archive members by :attr:`Member.key`: remembered when the
        archive's stamp and the member's CRC-32 and size are the ones seen before, or
        when the same member (name, size, CRC-32) was seen in another archive (the
        next export of the same account); else read from the archive."""
        by_member = {
            (k.member, k.size, k.crc32): k.content_hash
            for k in self.known.values()
            if k.member is not None
        }
        out: dict[str, str | None] = {}
        unknown: list[Member] = []
        stamps: dict[str, os.stat_result | None] = {}
        for m in members:
            if m.archive not in stamps:
                try:
                    stamps[m.archive] = os.stat(m.archive)
                except OSError:
                    stamps[m.archive] = None
            st = stamps[m.archive]
            seen = self.known.get(m.key)
            same = (
                st is not None
                and seen is not None
                and (seen.size, seen.crc32, seen.mtime_ns, seen.ctime_ns, seen.inode)
                == (m.size, m.crc32, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            )
            digest = seen.content_hash if same and seen else by_member.get(self._id(m))
            if digest is None:
                unknown.append(m)
            else:
                out[m.key] = digest
                if not same:
                    self._remember(m, st, digest)
        for key, digest in member_hashes(unknown).items():
            out[key] = digest
            self.hashed += digest is not None
        for m in unknown:
            if out[m.key] is not None:
                self._remember(m, stamps[m.archive], out[m.key])
        return out

    @staticmethod
    def _id(m: Member) -> tuple[str, int, int]:
        return (m.names[-1], m.size, m.crc32)

    def _remember(self, m: Member, st: os.stat_result | None, digest: str | None) -> None:
        if st is None or digest is None:
            return
        stamp = FileStamp(
            m.key, m.names[-1], m.size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, m.crc32, digest
        )
        self.known[m.key] = stamp
        self.new.append(stamp)

    def save(self, store: SeasonStore) -> None:
        """Remember the stamps taken since the last save."""
        store.remember_files(self.new)
        self.new = []


def layers_fingerprint(options: BatchOptions, stamps: FileStamps) -> str:
    """The map layers' identity: the hash of each layer and hazard file's bytes (their
    names and order do not matter). A file that cannot be read counts by its name (the
    batch then fails on it, with the reader's message)."""
    items = sorted(
        f"{role}:{stamps.hash_of(os.path.abspath(p)) or 'unreadable ' + os.path.abspath(p)}"
        for role, paths in (("layer", options.layers), ("hazard", options.hazards))
        for p in paths
    )
    return _digest("\n".join(items)) if items else "none"


def laps_fingerprint(source: RunSource, options: BatchOptions) -> str:
    """One run's lap source: its table rows, its lap file's bytes, or the season-wide
    ``--reverse-laps`` choice (what applies when neither is there)."""
    if source.lap_rows is not None:
        return "table:" + _digest(source.lap_rows.identity())
    if source.laps is not None:
        try:
            return "file:" + file_hash(source.laps)
        except OSError:
            return "file:unreadable " + source.laps
    if options.reverse_laps is not None:
        return "spec:" + options.reverse_laps.strip().lower()
    return "none"


@dataclass
class Planned:
    """One run of this call: where it is, its key in the store, and why it is checked
    (None: unchanged)."""

    source: RunSource
    key: RunKey
    reasons: tuple[str, ...] = ()
    replaces: tuple[int, ...] = ()  # runs an earlier content of this file left


@dataclass
class Plan:
    """What a batch call will do with each of its runs."""

    rules_fp: str = ""
    layers_fp: str = ""
    to_check: list[Planned] = field(default_factory=list)
    unchanged: list[Planned] = field(default_factory=list)
    moved: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # run_id, path, file, athlete
    renamed_only: int = 0  # moves that kept the absolute path (a new athlete or shown name)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, same bytes as)
    stale: int = 0  # stored runs not given now whose result used other settings
    hashed: int = 0  # files read to hash them (the rest had unchanged stamps)

    @property
    def given(self) -> int:
        """Distinct runs this call names."""
        return len(self.to_check) + len(self.unchanged)

    def reason_counts(self) -> Counter[str]:
        """Runs to check, by reason."""
        return Counter(r for p in self.to_check for r in p.reasons)

    def hashes(self) -> list[str]:
        """The content hashes of this call's runs."""
        return [p.key.content_hash for p in (*self.to_check, *self.unchanged)]


def _reasons(stored: StoredRun, key: RunKey) -> tuple[str, ...]:
    reasons = []
    if stored.retry:
        reasons.append("failed last time")
    if stored.tool_version != key.tool_version:
        reasons.append("retrogpx version changed")
    if stored.rules_fp != key.rules_fp:
        reasons.append("rules changed")
    if stored.layers_fp != key.layers_fp:
        reasons.append("map layers changed")
    if stored.laps_fp != key.laps_fp:
        reasons.append("lap source changed")
    return tuple(reasons)


def _type_choice_changed(stored: StoredRun, source: RunSource, options: BatchOptions) -> bool:
    """An archive member whose activity type only its file tells (Garmin) was skipped
    for its type and is now chosen, or was checked and is now left out."""
    if source.member is None or source.activity is not None or stored.activity_type is None:
        return False
    skipped_for_type = stored.status == "skipped" and "--activity-types" in (stored.error or "")
    return type_chosen(stored.activity_type, options.activity_types) == skipped_for_type


def plan_batch(
    store: SeasonStore,
    sources: Sequence[RunSource],
    options: BatchOptions,
    *,
    rebuild: bool = False,
) -> Plan:
    """Sort ``sources`` into runs to check (with why) and unchanged runs; record where
    unchanged runs now are, and the files' stamps, in the store."""
    stamps = FileStamps(store.file_stamps())
    stored = store.stored_runs()
    by_path: dict[str, StoredRun] = {}
    for run in stored.values():
        by_path.setdefault(run.path, run)
    rules_fp = rules_fingerprint(options.config)
    layers_fp = layers_fingerprint(options, stamps)
    version = tool_version()
    plan = Plan(rules_fp, layers_fp)
    first_of: dict[str, RunSource] = {}
    keyed: list[tuple[RunSource, RunKey]] = []
    members = stamps.member_hashes(
        [s.member for s in sources if s.member is not None and s.refused is None]
    )
    for source in sorted(sources, key=lambda s: s.file):
        path = os.path.abspath(source.path)
        if source.member is not None:
            path = source.member.key
        elif source.refused is not None:
            path = f"{path}!{source.file}"
        if source.refused is not None:
            digest = f"refused:{path}"
        elif source.member is not None:
            digest = members.get(path) or f"unreadable:{path}"
        else:
            digest = stamps.hash_of(path) or f"unreadable:{path}"
        if digest in first_of:
            plan.duplicates.append((source.file, first_of[digest].file))
            continue
        first_of[digest] = source
        laps_fp = laps_fingerprint(source, options)
        activity = source.activity.id if source.activity else None
        path = readable(path)  # as the store keeps it: valid UTF-8
        key = RunKey(digest, path, rules_fp, layers_fp, laps_fp, version, activity)
        keyed.append((source, key))
    for source, key in keyed:
        known = stored.get(key.content_hash)
        if known is None:
            old = by_path.get(key.path)
            replaces = (old.run_id,) if old is not None and old.content_hash not in first_of else ()
            why = ("content changed",) if replaces else ("new",)
            plan.to_check.append(Planned(source, key, why, replaces))
            continue
        reasons = ("--rebuild",) if rebuild else _reasons(known, key)
        if not reasons and _type_choice_changed(known, source, options):
            reasons = ("activity types changed",)
        if reasons:
            plan.to_check.append(Planned(source, key, reasons))
            continue
        plan.unchanged.append(Planned(source, key))
        where = (key.path, source.file, source.athlete)
        if where != (known.path, known.file, known.athlete):
            plan.moved.append((known.run_id, *where))
            plan.renamed_only += known.path == key.path
    given = set(first_of)
    plan.stale = sum(
        1
        for h, run in stored.items()
        if h not in given
        and (run.rules_fp, run.layers_fp, run.tool_version) != (rules_fp, layers_fp, version)
    )
    plan.hashed = stamps.hashed
    stamps.save(store)
    store.relocate(plan.moved)
    return plan


def run_planned(
    store: SeasonStore,
    plan: Plan,
    options: BatchOptions,
    executor: Executor,
    *,
    on_outcome: Callable[[FileOutcome], None] | None = None,
) -> BatchResult:
    """Check the plan's runs with ``executor``, each outcome stored in its own
    transaction as it arrives (this process is the only writer); the result keeps only
    the counts (the outcomes are in the store)."""
    planned = {p.source.file: p for p in plan.to_check}

    def record(outcome: FileOutcome) -> None:
        p = planned[outcome.file]
        store.record(outcome, p.key, replaces=p.replaces)
        if on_outcome is not None:
            on_outcome(outcome)

    return run_batch(
        [p.source for p in plan.to_check],
        options,
        executor,
        on_outcome=record,
        keep=False,
    )


def describe(plan: Plan) -> list[str]:
    """What the plan does, in a few lines for the terminal."""
    counts = plan.reason_counts()
    new = counts.pop("new", 0)
    rechecked = len(plan.to_check) - new
    parts = [f"{plan.given} run{'s' * (plan.given != 1)} given"]
    if new:
        parts.append(f"{new} new")
    if rechecked:
        parts.append(f"{rechecked} re-checked")
    parts.append(f"{len(plan.unchanged)} unchanged (not read again)")
    lines = [", ".join(parts)]
    if rechecked:
        why = ", ".join(
            f"{reason} ({n})" if len(counts) > 1 else reason for reason, n in counts.most_common()
        )
        lines.append(f"re-checked {rechecked} run{'s' * (rechecked != 1)}: {why}")
    moved = len(plan.moved) - plan.renamed_only
    if moved:
        lines.append(
            f"{moved} run{'s' * (moved != 1)} moved or renamed: path updated, not re-checked"
        )
    if plan.duplicates:
        file, same = plan.duplicates[0]
        more = f" and {len(plan.duplicates) - 1} more" if len(plan.duplicates) > 1 else ""
        lines.append(f"same bytes as another file, stored once: {file} (as {same}){more}")
    if plan.stale:
        lines.append(
            f"{plan.stale} stored run{'s' * (plan.stale != 1)} not given now "
            "were checked with other settings: give their files again to re-check them"
        )
    return lines


def given_runs(store: SeasonStore, hashes: Sequence[str]) -> list[dict[str, Any]]:
    """The stored runs with these content hashes (this call's runs), by start: ``file``,
    ``status``, ``verdict``, ``start``, ``utc_offset_s``, ``time_zone`` and
    ``worst_reasons`` (codes)."""
    out: list[dict[str, Any]] = []
    names = ("file", "status", "verdict", "start", "utc_offset_s", "time_zone", "worst_reasons")
    for start in range(0, len(hashes), 500):
        chunk = list(hashes[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = store.query(
            f"SELECT {', '.join(names)} FROM runs WHERE content_hash IN ({marks})", chunk
        )
        out += [dict(zip(names, row, strict=True)) for row in rows]
    for run in out:
        run["worst_reasons"] = [c for c in (run["worst_reasons"] or "").split(";") if c]
    return sorted(out, key=lambda r: (r["start"] or "", r["file"]))


def last_batch_facts(plan: Plan, options: BatchOptions) -> dict[str, Any]:
    """What the store remembers of this batch (``meta.last_batch``): when, with which
    settings fingerprints and map layers."""
    from .store import now_iso

    return {
        "at": now_iso(),
        "version": tool_version(),
        "rules_fp": plan.rules_fp,
        "layers_fp": plan.layers_fp,
        "layers": list(options.layers),
        "hazards": list(options.hazards),
    }
