"""Property-based tests of the reader and validator, and a brief run of the loader fuzz target.

* Round trip: any record of values (ints, negative ints, fractions, huge numbers, text such as
  无/十/—, booleans, blanks, numbers typed as text with harmless noise) written into a template
  is read back as written, modulo the documented normalisation (listed in ``expected_read``).
* Single change: any one cell of a valid workbook set to any such value yields exactly the
  findings the rules predict: the value rule for that cell (V-BLANK / V-NUMBER / V-INTEGER /
  V-NEGATIVE, modelled independently here) plus every equation the new value breaks (the
  arithmetic oracle of ``test_validate``, extended with the validator's documented 1e-9
  tolerance on inequalities).

Writing a workbook costs ~0.1-0.3 s, so example counts are modest and the round trip puts a
value in every cell of the template at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from oracle import TOO_LARGE, oracle

from gxsheet.check.validate import validate_record
from gxsheet.core.layout import workbook_layout
from gxsheet.core.spec import load_spec
from gxsheet.read.workbook import read_report
from gxsheet.render.samples import default_meta, default_prose, fill_workbook, template_path, valid_values

EDITIONS = ("2019", "2021")
#: Each example writes a workbook, so shrinking a failure could take many minutes: it is off,
#: and the assertion messages name the key and values instead.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=PHASES,
)

# ============================================================================ values and their reading

#: Text that is no number whatever the noise: no digits, no '=', no whitespace inside.
WORDS = ["无", "十", "—", "若干", "1200余", "不适用", "暂无", "/", "-", "+", ".", "——", "〇", "3件", "1,2"]
TEXT_ALPHABET = "无十—若干余件不适用暂未统计／/（）、。ABCxyz-+.〇壹贰叁"
PADDING = ["", " ", "\u3000", "\u00a0", "\t", " \u3000 "]


def openpyxl_number(v: int | float) -> int | float:
    """What a number becomes on its way through a workbook, as documented.

    openpyxl stores a double printed with 16 significant digits (``%.16g``); the reader reads
    the double Excel would hold, as an int when that text is integral (no '.', no exponent:
    openpyxl's own rule) and as a float otherwise. The rule is spelled out here rather than
    calling the reader's normaliser.
    """
    text = f"{v:.16g}"
    return int(text) if text.lstrip("-").isdigit() else float(text)


def numbers() -> st.SearchStrategy[tuple[Any, Any]]:
    small = st.integers(-(10**6), 10**6)
    huge = st.integers(-(10**30), 10**30)
    floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
    fractions = st.integers(-999, 999).map(lambda n: n + 0.5)
    return st.one_of(small, huge, floats, fractions).map(lambda v: (v, openpyxl_number(v)))


def numeric_text() -> st.SearchStrategy[tuple[Any, Any]]:
    """Numbers stored as text (spaces, full-width digits, commas, signs): read as that text, trimmed.

    Every spreadsheet program's SUM skips a text cell, so the workbook's own totals do not count
    it; the reader keeps it as text and the validator names it (V-NUMBER), as the template does.
    """
    return _numeric_text().map(lambda t: (t[0], t[0].strip(" \t\r\n\u3000\u00a0")))


def _numeric_text() -> st.SearchStrategy[tuple[Any, Any]]:
    n = st.integers(0, 10**9)
    return st.one_of(
        st.tuples(n, st.sampled_from(PADDING), st.sampled_from(PADDING)).map(lambda t: (f"{t[1]}{t[0]}{t[2]}", t[0])),
        n.map(lambda v: ("".join(chr(0xFF10 + int(d)) for d in str(v)), v)),
        st.integers(1000, 10**9).map(lambda v: (f"{v:,}", v)),
        st.integers(1, 10**6).map(lambda v: (f"\u2212{v}", -v)),
        st.integers(1, 10**6).map(lambda v: (f"-{v}", -v)),
        st.integers(0, 10**6).map(lambda v: (f"+{v}", v)),
        st.integers(0, 10**6).map(lambda v: (f"{v}.50", v + 0.5)),
        st.integers(0, 10**6).map(lambda v: (f"{v}.0", v)),
    )


def words() -> st.SearchStrategy[tuple[Any, Any]]:
    core = st.one_of(st.sampled_from(WORDS), st.text(alphabet=TEXT_ALPHABET, min_size=1, max_size=40))
    return st.tuples(st.sampled_from(PADDING), core, st.sampled_from(PADDING)).map(lambda t: (t[0] + t[1] + t[2], t[1]))


def cell_values() -> st.SearchStrategy[tuple[Any, Any]]:
    """(what is typed into the cell, what the reader must return)."""
    blank = st.sampled_from([None, "", " ", "\u3000"]).map(lambda v: (v, None))
    booleans = st.booleans().map(lambda b: (b, "TRUE" if b else "FALSE"))
    return st.one_of(numbers(), numeric_text(), words(), blank, booleans)


def _write(folder: Path, edition: str, values: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    spec = load_spec(edition)
    m = default_meta(spec)
    m.update(meta or {})
    path = folder / f"p-{edition}.xlsx"
    return fill_workbook(template_path(edition), path, values, m, default_prose(spec))


# ============================================================================ round trip


@SETTINGS
@given(edition=st.sampled_from(EDITIONS), data=st.data())
def test_any_record_round_trips(edition, data):
    spec = load_spec(edition)
    typed = {k: data.draw(cell_values(), label=k) for k in spec.cells}
    unit = data.draw(words(), label="unit_name")
    with tempfile.TemporaryDirectory() as tmp:
        rec = read_report(_write(Path(tmp), edition, {k: w for k, (w, _) in typed.items()}, {"unit_name": unit[0]}))
    assert rec.edition == edition
    for key, (written, expected) in typed.items():
        got = rec.values[key]
        assert got == expected and type(got) is type(expected), (key, written, got, expected)
    assert rec.meta["unit_name"] == unit[0].strip()
    assert not rec.missing


# ============================================================================ single change → findings




def value_rules(cell_type: str, v: Any) -> set[str]:
    """The value rules one cell's (read) value breaks, from the rule table in the README."""
    if v is None:
        return {"V-BLANK"}
    if isinstance(v, str):
        return {"V-NUMBER"}  # the generated texts carry no amount with a unit
    rules = set()
    if cell_type != "amount" and not float(v).is_integer():
        rules.add("V-INTEGER")
    if abs(v) >= TOO_LARGE:
        rules.add("V-NUMBER")  # out of range: not negative, not in any sum
    elif cell_type != "signed_count" and v < 0:
        rules.add("V-NEGATIVE")
    return rules


@SETTINGS
@given(edition=st.sampled_from(EDITIONS), data=st.data())
def test_any_single_change_gives_exactly_the_predicted_findings(edition, data):
    spec = load_spec(edition)
    lay = workbook_layout(spec)
    key = data.draw(st.sampled_from(sorted(spec.cells)), label="key")
    written, read = data.draw(cell_values(), label="value")
    values: dict[str, Any] = dict(valid_values(spec, 11))
    values[key] = written
    meta = default_meta(spec)
    with tempfile.TemporaryDirectory() as tmp:
        rec = read_report(_write(Path(tmp), edition, values, meta))
    assert rec.values[key] == read
    expected_values = {**valid_values(spec, 11), key: read}
    expected = {(rule, (lay.address(key),)) for rule in value_rules(spec.cells[key].type, read)}
    expected |= oracle(spec, expected_values, meta)
    found = {(f.rule, tuple(f.cells)) for f in validate_record(rec)}
    assert found == expected, (key, written, read, found ^ expected)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=PHASES)
@given(edition=st.sampled_from(EDITIONS), data=st.data())
def test_any_few_changes_give_exactly_the_predicted_findings(edition, data):
    """Several cells changed at once: value rules per cell plus the union of broken equations."""
    spec = load_spec(edition)
    lay = workbook_layout(spec)
    keys = data.draw(st.lists(st.sampled_from(sorted(spec.cells)), min_size=2, max_size=6, unique=True), label="keys")
    small = st.one_of(
        st.integers(-50, 50).map(lambda v: (v, v)),
        st.integers(-50, 50).map(lambda n: (n + 0.25, n + 0.25)),
        words(),
        st.just((None, None)),
    )
    planted = {k: data.draw(small, label=k) for k in keys}
    values: dict[str, Any] = dict(valid_values(spec, 5))
    values.update({k: w for k, (w, _) in planted.items()})
    meta = default_meta(spec)
    with tempfile.TemporaryDirectory() as tmp:
        rec = read_report(_write(Path(tmp), edition, values, meta))
    expected_values = {**valid_values(spec, 5), **{k: r for k, (_, r) in planted.items()}}
    expected = {
        (rule, (lay.address(k),)) for k, (_, r) in planted.items() for rule in value_rules(spec.cells[k].type, r)
    }
    expected |= oracle(spec, expected_values, meta)
    assert {(f.rule, tuple(f.cells)) for f in validate_record(rec)} == expected


# ============================================================================ odd numbers in the XML


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12", 12),
        (" 12 ", 12),
        ("-0", 0),
        ("3.50", 3.5),
        ("1E3", 1000.0),
        ("9007199254740993", 9007199254740992),  # past 2**53: the double Excel holds, an int like openpyxl's
        ("-9007199254740995", -9007199254740996),
        ("00000000000000000000012", 12),  # integral text of any length: an int
        ("12345678901234567890123", 1.2345678901234568e22),  # beyond int64: the double (no frame holds the int)
        ("1.0", 1.0),
        ("1" * 400, "1" * 400),  # no double: kept as text
        ("1e400", "1e400"),
        ("INF", "INF"),
        ("NaN", "NaN"),
        ("1_000", "1_000"),
        ("٣", "٣"),
    ],
)
def test_numeric_cell_text_as_excel_means_it(text, expected):
    """A numeric ``<v>`` is an xsd:double: what cannot be one stays text, never inf, NaN or blank."""
    from gxsheet.xlsx.workbook import number

    got = number(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("digits", [400, 5000])
def test_digit_strings_beyond_a_double_are_reported(digits, tmp_path):
    from gxsheet.render.samples import write_sample

    path = write_sample(tmp_path / "d.xlsx", "2021", seed=3, values={"t3.received.natural": "1" * digits})
    rec = read_report(path)
    assert "V-NUMBER" in {f.rule for f in validate_record(rec)}


# ============================================================================ the loader fuzz target, briefly


def test_fuzz_loader_briefly():
    """~200 mutated workbooks through read_any: a Record or a LoadError, never anything else, fast."""
    import fuzz_loader

    fuzz_loader.run_hypothesis(max_examples=200)
