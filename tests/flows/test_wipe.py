"""The wipe: after finish, cancel, decline or timeout nothing personal is reachable from the engine.

Walks every object reachable from the engine (``gc.get_referents``, transitively) and searches
every string for the synthetic citizen's name, ID number, phone, address, the typed values,
the scanned code and the platform's holder reference. The walk does not descend into modules,
classes and functions (code and globals: reaching ``sys.modules`` would find the test's own
data); the engine keeps no module-level state.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Mapping
from typing import Any

import pytest

from flows.catalogue import Catalogue
from flows.engine import FlowEngine
from flows.headless import SYNTHETIC_PERSON, Autopilot, Policy, all_devices
from flows.model import FlowDef

SECRETS = (
    SYNTHETIC_PERSON["name"],
    SYNTHETIC_PERSON["id_number"],
    SYNTHETIC_PERSON["phone"],
    SYNTHETIC_PERSON["address"],
    "LTM:synthetic-token-0001",  # the scanned 鲁通码
    "h-synthetic01",  # the platform's holder reference
    "测试填写",  # what the citizen typed into text fields
    "6222020200112233445",  # a bank account typed into the retirement form
)


def reachable(root: object) -> list[Any]:
    seen: set[int] = set()
    out: list[Any] = []
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, str | bytes | int | float):
            continue
        if isinstance(obj, types.MethodType):  # bound methods: keep the instance, not the code
            todo.append(obj.__self__)
            continue
        todo.extend(gc.get_referents(obj))
    return out


def personal_strings(root: object) -> list[str]:
    found: list[str] = []
    for obj in reachable(root):
        if isinstance(obj, str | bytes):
            text = obj.decode("utf-8", "replace") if isinstance(obj, bytes) else obj
            found.extend(s for s in SECRETS if s in text)
    return found


def test_the_search_finds_data_during_a_session(
    flows: Mapping[str, FlowDef], catalogue: Catalogue
) -> None:
    """Guard against a search that cannot fail: mid-session the data must be found."""
    item = catalogue.item("YJS-0013")
    engine = FlowEngine(flows)
    Autopilot(Policy(method="lutong_code", max_events=15)).drive(
        engine, item.flow, item, devices=all_devices()
    )
    assert engine.active  # stopped mid-form
    found = set(personal_strings(engine))
    assert SYNTHETIC_PERSON["name"] in found and SYNTHETIC_PERSON["id_number"] in found
    assert "h-synthetic01" in found


def ending_policy(ending: str, late_step: str) -> Policy:
    return {
        "finished": Policy(method="lutong_code"),
        "finished_by_card": Policy(method="id_card"),
        "cancelled": Policy(method="lutong_code", cancel_at=late_step),
        "timeout": Policy(method="lutong_code", timeout_at=late_step),
        "timeout_at_consent": Policy(method="id_card", timeout_at="consent"),
        "declined": Policy(method="lutong_code", decline_consent=True),
    }[ending]


ENDINGS = ("finished", "finished_by_card", "cancelled", "timeout", "timeout_at_consent", "declined")


@pytest.mark.parametrize("ending", sorted(ENDINGS))
@pytest.mark.parametrize("code", ["YJS-0013", "YJS-0009", "SW-0005", "MS-0001"])
def test_nothing_personal_survives_the_session(
    ending: str, code: str, flows: Mapping[str, FlowDef], catalogue: Catalogue
) -> None:
    engine = FlowEngine(flows)
    item = catalogue.item(code)
    late = "review" if "review" in flows[item.flow].index else "done"
    trace = Autopilot(ending_policy(ending, late)).drive(
        engine, item.flow, item, devices=all_devices()
    )
    assert not engine.active and engine.session is None
    assert trace.end_reason == ending.split("_", maxsplit=1)[0]
    # the trace (held by the test, not the engine) did carry personal data
    assert personal_strings(trace)
    del trace
    gc.collect()
    assert personal_strings(engine) == []
    assert engine.view() is None
