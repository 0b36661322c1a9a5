"""Pure parts of the sandbox: ID numbers, canonical strings, fault specs, JPEG check,
evaluation code orders, catalogue loading. Parsers of outside bytes are fuzzed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox import idnumber, models, signing
from sandbox.app import ApiError, _check_page
from sandbox.evaluation import CODE_ORDERS, LEVEL_TEXT, normalise
from sandbox.faults import FaultRule, FaultSpecError, parse_fault_spec, plan_from_specs
from sandbox.jpeg import JpegError, jpeg_size
from sandbox.seed import DEFAULT_CATALOG, HOLDERS, CatalogFileError, load_catalog_file
from tests.sandbox.conftest import jpeg_bytes, make_id


def test_id_number_check_digit_matches_an_independent_computation() -> None:
    built = idnumber.make("370102", date(1985, 3, 12), 371)
    assert built == make_id(built[:17])
    assert idnumber.validate(built) is None
    assert idnumber.validate("11010519491231002X") is None  # the standard's own example


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("37010219850312371", "18 characters"),
        ("3701021985031237 4", "17 digits"),
        ("370102198502303714", "real date"),
        ("370102198503123715", "check digit"),
    ],
)
def test_id_number_problems_are_named(number: str, why: str) -> None:
    problem = idnumber.validate(number)
    assert problem is not None and why in problem


def test_seed_holders_are_valid_and_distinct() -> None:
    numbers = [h.id_number for h in HOLDERS]
    assert all(idnumber.validate(n) is None for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert len({h.holder_ref for h in HOLDERS}) == len(HOLDERS)


@given(st.text(max_size=30))
def test_id_validate_never_crashes(text: str) -> None:
    result = idnumber.validate(text)
    assert result is None or isinstance(result, str)


def test_canonical_string_layout() -> None:
    canonical = signing.canonical_string(
        "post",
        "/api/v1/x%20y",
        "b=2&a=%E6%B5%8E+x&a=1",
        timestamp="1700000000",
        nonce="n" * 16,
        body=b"{}",
    )
    assert canonical.split("\n") == [
        "POST",
        "/api/v1/x%20y",
        "a=%E6%B5%8E%20x&a=1&b=2",
        "1700000000",
        "n" * 16,
        hashlib.sha256(b"{}").hexdigest(),
    ]
    sig = signing.sign("s3cret", canonical)
    assert sig == hmac.new(b"s3cret", canonical.encode(), hashlib.sha256).hexdigest()
    assert signing.signature_ok("s3cret", canonical, sig.upper())


@given(st.text(max_size=100))
def test_canonical_query_never_crashes_and_is_order_free(raw: str) -> None:
    once = signing.canonical_query(raw)
    reordered = "&".join(reversed(raw.split("&")))
    assert signing.canonical_query(reordered) == once


def test_timestamp_window_edges() -> None:
    assert signing.timestamp_fresh("1000", 1300)
    assert not signing.timestamp_fresh("1000", 1301)
    assert signing.timestamp_fresh("1300", 1000)
    assert not signing.timestamp_fresh("1301", 1000)


def test_fault_specs() -> None:
    rule = parse_fault_spec("post /api/v1/cases:error_rate=0.5,latency_ms=200")
    assert isinstance(rule, FaultRule)
    assert (rule.method, rule.path, rule.error_rate, rule.latency_ms) == (
        "POST",
        "/api/v1/cases",
        0.5,
        200,
    )
    assert parse_fault_spec(" outage ") == "outage"
    plan = plan_from_specs(["outage", "/api/v1/*:drop_rate=1"])
    assert plan.outage and plan.rules[0].drop_rate == 1.0
    for bad in (
        "",
        "/x",
        "/x:",
        "/x:speed=3",
        "/x:error_rate=lots",
        "/x:error_rate=2",
        "A B C:latency_ms=1",
        "FETCH /x:latency_ms=1",
    ):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


@given(st.text(max_size=80))
def test_fault_spec_parser_only_raises_its_error(spec: str) -> None:
    try:
        rule = parse_fault_spec(spec)
    except FaultSpecError:
        return
    assert rule == "outage" or isinstance(rule, FaultRule)


def test_fault_matching() -> None:
    rule = FaultRule(path="/api/v1/cases*", method="POST")
    assert rule.matches("post", "/api/v1/cases/JN1")
    assert not rule.matches("GET", "/api/v1/cases")
    assert not rule.matches("POST", "/api/v1/catalog")


def test_jpeg_size_of_a_real_jpeg() -> None:
    assert jpeg_size(jpeg_bytes()) == (64, 48)


@given(st.binary(max_size=300))
def test_jpeg_garbage_only_raises_jpeg_error(data: bytes) -> None:
    try:
        width, height = jpeg_size(data)
    except JpegError:
        return
    assert width > 0 and height > 0


@given(st.integers(min_value=0, max_value=2000), st.binary(max_size=8))
def test_jpeg_truncated_or_corrupted_only_raises_jpeg_error(cut: int, junk: bytes) -> None:
    real = jpeg_bytes()
    for data in (real[:cut] + b"\xff\xd9", real[:cut] + junk + real[cut + len(junk) :]):
        try:
            w, h = jpeg_size(data)
        except JpegError:
            continue
        assert w > 0 and h > 0


def test_evaluation_orders_are_inverse_of_each_other() -> None:
    for n in range(1, 6):
        assert normalise(n, "five_is_best") == n
        assert normalise(n, "one_is_best") == 6 - n
    assert LEVEL_TEXT[normalise(1, "one_is_best")] == "非常满意"
    assert set(CODE_ORDERS) == {"five_is_best", "one_is_best"}
    with pytest.raises(ValueError, match="no level"):
        normalise(0, "five_is_best")


def test_catalog_file_errors_name_the_item_and_field(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"items": [{"code": "X", "name": "n"}]}), encoding="utf-8")
    with pytest.raises(CatalogFileError, match="item 0"):
        load_catalog_file(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogFileError, match="cannot read"):
        load_catalog_file(path)
    shipped = load_catalog_file(DEFAULT_CATALOG)
    assert len({i["code"] for i in shipped}) == len(shipped) >= 3


def test_store_caches_follow_changes_made_through_it_and_by_others(tmp_path: Path) -> None:
    from sandbox.db import open_engine
    from sandbox.store import Store

    path = str(tmp_path / "p.sqlite3")
    store, other = Store(open_engine(path)), Store(open_engine(path))  # two processes' view
    store.replace_catalog([{"code": "A-1"}])
    assert store.item_exists("A-1") and not store.item_exists("B-2")
    other.replace_catalog([{"code": "A-1"}, {"code": "B-2"}])
    assert store.item_exists("B-2")  # an unknown code is looked up again, not refused
    store.replace_catalog([{"code": "B-2"}])
    assert not store.item_exists("A-1")  # a change through this store clears its cache
    first = store.enrol("k1")
    assert store.kiosk_secret("k1") == first
    second = other.enrol("k1")
    assert store.kiosk_secret("k1") == first  # cached (within the TTL)
    assert store.kiosk_secret("k1", fresh=True) == second
    assert store.kiosk_secret("k1") == second
    assert store.kiosk_secret("nobody") is None


_B64 = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())


@given(
    st.one_of(st.none(), st.text(max_size=200), _B64),
    st.sampled_from(["captured", "waived", "licence"]),
)
def test_check_page_only_ever_raises_a_field_error(content: str | None, source: str) -> None:
    """Outside bytes in ``content_b64``: a 422 or acceptance, never another exception."""
    material = models.CaseMaterial.model_validate(
        {"code": "M01", "source": source, "content_b64": content}
    )
    try:
        _check_page(0, material)
    except ApiError as err:
        assert err.status == 422
    else:
        assert (source == "captured") == (content is not None)
