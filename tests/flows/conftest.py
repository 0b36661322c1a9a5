"""Shared fixtures of the flow tests: the shipped flows and catalogue, engines, autopilot runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from flows.catalogue import CatalogItem, Catalogue, shipped_catalogue
from flows.engine import FlowEngine
from flows.headless import Autopilot, Policy, Trace, all_devices
from flows.loader import shipped_flows
from flows.model import FlowDef


@pytest.fixture(scope="session")
def flows() -> Mapping[str, FlowDef]:
    return shipped_flows()


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return shipped_catalogue()


Runner = Callable[..., tuple[FlowEngine, Trace]]


@pytest.fixture
def run(flows: Mapping[str, FlowDef], catalogue: Catalogue) -> Runner:
    """run(item_code, policy=..., devices=..., online=...) → (engine, trace)."""

    def _run(
        code: str,
        policy: Policy | None = None,
        devices: Mapping[str, bool] | None = None,
        online: bool = True,
        engine: FlowEngine | None = None,
    ) -> tuple[FlowEngine, Trace]:
        item: CatalogItem = catalogue.item(code)
        eng = engine or FlowEngine(flows)
        trace = Autopilot(policy).drive(
            eng,
            item.flow,
            item,
            devices=devices if devices is not None else all_devices(),
            online=online,
        )
        return eng, trace

    return _run
