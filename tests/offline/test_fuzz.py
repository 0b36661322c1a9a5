"""Hypothesis fuzzing of every parser of outside bytes in offline/: platform answers (error
bodies, typed models), the enrolment secret file, the key file, the catalogue cache file."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline.catalog_cache import CatalogCache
from offline.client import _error_from, _parse, read_secret_file
from offline.errors import OutboxKeyError, PlatformError, PlatformProtocolError
from offline.models import CaseReceipt, Catalog, CodeVerification
from offline.sealing import KeyRing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
error_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"error": json_values, "reason": json_values, "fields": json_values, "message": json_values}
    ),
    st.fixed_dictionaries(
        {"fields": st.lists(st.fixed_dictionaries({"loc": json_values, "msg": json_values}))}
    ),
)
fuzz = settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(st.integers(min_value=400, max_value=499), error_bodies)
def test_any_error_body_gives_a_typed_error(status: int, body: Any) -> None:
    err = _error_from(status, body)
    assert isinstance(err, PlatformError)
    assert isinstance(err.reason, str) and err.as_dict()["code"]


@given(json_values)
def test_any_answer_parses_or_is_a_protocol_error(body: Any) -> None:
    for model in (Catalog, CaseReceipt, CodeVerification):
        with contextlib.suppress(PlatformProtocolError):
            assert isinstance(_parse(model, body), model)


@fuzz
@given(st.binary(max_size=200))
def test_secret_file_never_crashes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "secret"
    path.write_bytes(data)
    try:
        secret = read_secret_file(path)
    except (ValueError, UnicodeDecodeError):
        return
    assert secret and secret == secret.strip()


key_texts = st.one_of(
    st.text(max_size=50), st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
)
key_docs = st.fixed_dictionaries(
    {
        "format": st.just("quanban-outbox-keys"),
        "version": json_values,
        "current": st.one_of(st.text(max_size=14), json_values),
        "keys": st.one_of(
            st.dictionaries(st.text(max_size=14), key_texts, max_size=3), json_values
        ),
        "retired_at": json_values,
    }
).map(lambda d: json.dumps(d).encode())


@fuzz
@given(st.one_of(st.binary(max_size=300), key_docs))
def test_key_file_garbage_is_a_clear_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "outbox.key"
    path.write_bytes(data)
    path.chmod(0o600)
    try:
        KeyRing.load_or_create(path)
    except OutboxKeyError:
        return
    raise AssertionError("garbage accepted as a key file")


cache_docs = st.fixed_dictionaries(
    {
        "format": st.just("quanban-catalog-cache"),
        "etag": json_values,
        "fetched_at": json_values,
        "catalog": st.one_of(
            json_values, st.fixed_dictionaries({"version": json_values, "items": json_values})
        ),
    }
).map(lambda d: json.dumps(d).encode())


@fuzz
@given(st.one_of(st.binary(max_size=300), cache_docs))
def test_catalogue_cache_garbage_is_ignored(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "catalog.json"
    path.write_bytes(data)
    assert CatalogCache(path).load() is None
