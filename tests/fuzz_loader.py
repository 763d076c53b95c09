"""Fuzz target for the guarded loader: any bytes → a Record or a LoadError, never anything else.

Two drivers share :func:`check_one`:

* hypothesis (always available; ``tests/read/test_properties.py::test_fuzz_loader_briefly`` runs
  ~200 examples in CI): mutations of a valid report, both of its raw bytes (flip, truncate,
  splice, delete, duplicate - mostly caught by the zip checks) and of one member's content,
  re-zipped with correct CRCs so the mutation reaches the XML parsers and the reader;
* atheris, coverage-guided, when installed (``pip install atheris``)::

      mkdir -p /tmp/gxsheet-fuzz
      python tests/fuzz_loader.py -max_total_time=600 -max_len=65536 /tmp/gxsheet-fuzz tests/bad_inputs

  (libFuzzer writes new inputs into the *first* folder, so keep that one out of the repository;
  ``tests/bad_inputs`` seeds it; every input is a file's raw bytes).

The property: ``read_any`` on the bytes (saved as ``.xlsx``) returns a Record or raises
LoadError, and does so within :data:`DEADLINE` seconds of CPU; ``sniff`` returns a kind or raises
LoadError. Anything else - an IndexError from a malformed part, a RecursionError, a hang -
is a bug: a clerk would see "内部错误" instead of one clear line.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
import zipfile
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gxsheet.core.errors import LoadError, one_line  # noqa: E402
from gxsheet.core.record import Record  # noqa: E402
from gxsheet.read.registry import read_any  # noqa: E402
from gxsheet.xlsx.loader import sniff  # noqa: E402

#: Seconds one input may take (a report reads in ~0.05 s; the loader's limits stop hostile
#: files within a second or two even on a slow machine).
DEADLINE = 5.0
SEED_FILE = HERE / "bad_inputs" / "城关镇 2021年 年报（终稿）.xlsx"
#: Raw mutations also start from the OLE2 files (old .xls, encrypted workbook): olefile parses
#: those before anything else, and it is not ours.
RAW_SEEDS = (SEED_FILE, HERE / "bad_inputs" / "renamed-from-xls.xlsx", HERE / "bad_inputs" / "encrypted.xlsx")

#: Fragments worth splicing into XML: limits, odd numbers, entities, broken references.
TOKENS = [
    b'r="XFD1048576"', b'r="A0"', b'r="-1"', b'<row r="999999">', b't="s"', b't="inlineStr"', b't="e"',
    b"<v>1e400</v>", b"<v>" + b"9" * 500 + b"</v>", b"<v>-0</v>", b"<v>NaN</v>", b"<v>99999999</v>",
    b'<f t="shared" si="0"/>', b'<f t="shared" ref="A1:XFD1048576" si="0">A1+1</f>',
    b'<mergeCell ref="A1:XFD1048576"/>', b'<dimension ref="A1:ZZZ9"/>', b"<!DOCTYPE x>", b"&amp;", b"&#0;",
    b"&#x1F600;", b"_x0000_", b'Target="../../../etc/passwd"', b'TargetMode="External"', b"\x00", b"\xff\xfe",
    b'state="veryHidden"', b'name=""', b"<sheet/>", b"</sheetData>", b"<si><t>", b"]]>", b"<![CDATA[",
]  # fmt: skip


@cache
def seed_members() -> tuple[tuple[str, bytes], ...]:
    with zipfile.ZipFile(SEED_FILE) as zf:
        return tuple((i.filename, zf.read(i)) for i in zf.infolist())


@cache
def seed_bytes() -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in RAW_SEEDS)


def rezip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, (2022, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def mutate_bytes(data: bytes, rng: random.Random, steps: int) -> bytes:
    """Raw mutations: what a bad disk, a half download or a crafted header does."""
    b = bytearray(data)
    for _ in range(steps):
        if not b:
            break
        op = rng.randrange(6)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0x00, 0xFF, 0x7F, 0x80, ord("<"), ord('"')))
        elif op == 2:
            del b[i:]
        elif op == 3:
            b[i:i] = rng.randbytes(rng.randrange(1, 64))
        elif op == 4:
            del b[i : i + rng.randrange(1, 256)]
        else:
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randrange(1, 512)]
    return bytes(b)


def mutate_member(rng: random.Random, steps: int) -> bytes:
    """Content mutations of one part, re-zipped with valid CRCs: they get past the zip checks."""
    members = list(seed_members())
    k = rng.randrange(len(members))
    name, data = members[k]
    b = bytearray(data)
    for _ in range(steps):
        op = rng.randrange(5)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i:i] = rng.choice(TOKENS)
        elif op == 2:
            del b[i : i + rng.randrange(1, 200)]
        elif op == 3:
            j = rng.randrange(len(b) + 1)
            b[i:i] = b[j : j + rng.randrange(1, 400)]
        else:  # replace a digit run or an attribute value
            j = b.find(b'"', i)
            if j >= 0:
                b[j + 1 : j + 1] = rng.choice(TOKENS)
    members[k] = (name, bytes(b))
    if rng.random() < 0.1:
        del members[rng.randrange(len(members))]
    return rezip(members)


def make_input(seed: int, raw: bool, steps: int) -> bytes:
    rng = random.Random(seed)
    if raw:
        seeds = seed_bytes()
        # the report most of the time: its zip checks are the larger surface
        return mutate_bytes(seeds[0] if rng.random() < 0.7 else rng.choice(seeds[1:]), rng, steps)
    return mutate_member(rng, steps)


def check_one(data: bytes, *, deadline: float = DEADLINE) -> str:
    """The property for one input; returns 'record' or the LoadError kind, raises on a violation."""
    fd, name = tempfile.mkstemp(suffix=".xlsx", prefix="gxsheet-fuzz-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        t0 = time.process_time()  # CPU time: the wall clock of a shared machine measures the neighbours
        try:
            kind = sniff(name)
            assert isinstance(kind, str)
        except LoadError:
            pass
        try:
            rec = read_any(name)
            assert isinstance(rec, Record)
            outcome = "record"
        except LoadError as e:
            assert e.kind and e.message_zh and e.message_en
            for message in (e.message_zh, e.message_en):  # one line, nothing a terminal would obey
                assert one_line(message) == message, message
            outcome = e.kind
        elapsed = time.process_time() - t0
        assert elapsed < deadline, f"{elapsed:.1f} s CPU"
        return outcome
    finally:
        os.unlink(name)


def run_hypothesis(max_examples: int = 200) -> None:
    """The CI run: hypothesis picks mutation seeds; a failure shrinks to the fewest steps.

    Under pytest the profile in tests/conftest.py decides: derandomized in CI, random seeds with
    ``--hypothesis-profile=explore``. Run standalone, it explores with random seeds.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(seed=st.integers(0, 2**32), raw=st.booleans(), steps=st.integers(1, 12))
    def fuzz(seed: int, raw: bool, steps: int) -> None:
        check_one(make_input(seed, raw, steps))

    fuzz()


def atheris_main(argv: list[str]) -> None:  # pragma: no cover - needs atheris
    """libFuzzer over raw file bytes, coverage from every loaded module (gxsheet included)."""
    import atheris

    def one_input(data: bytes) -> None:
        check_one(data, deadline=30.0)

    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: running 2000 hypothesis examples instead", file=sys.stderr)
        run_hypothesis(2000)
    else:
        atheris_main(sys.argv)
