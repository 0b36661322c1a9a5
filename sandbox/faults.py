"""Faults on demand: per-endpoint latency, error rate, dropped connections, full outage.

A :class:`FaultPlan` is a list of rules plus an ``outage`` switch, set through the admin API
(``PUT /admin/faults``) or ``--fault`` at start. A rule matches a request when its ``path``
(an ``fnmatch`` pattern such as ``/api/v1/cases`` or ``/api/v1/cases*``) matches the request
path and its ``method`` is None or equal. Every matching rule applies: latencies add up,
then each rule's ``drop_rate`` and ``error_rate`` are drawn in turn. ``/admin/*`` is never
faulted. The plan is replaced as a whole (copy-on-write), so readers on the event loop need
no lock.

``--fault`` syntax (parsed by :func:`parse_fault_spec`)::

    outage
    [METHOD ]PATH:key=value[,key=value...]
    keys: latency_ms, error_rate, drop_rate, drop_after_rate
    e.g.  "POST /api/v1/cases:error_rate=0.5,latency_ms=200"   "/api/v1/catalog:drop_rate=1"
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=256, description="fnmatch pattern on the path")
    method: Method | None = None
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Handle the request, then close the connection without sending the answer.
    drop_after_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule] = Field(default_factory=list, max_length=100)
    outage: bool = False


Action = Literal["pass", "error", "drop", "drop_after", "outage"]


@dataclass
class Decision:
    action: Action
    latency_ms: int = 0


@dataclass
class FaultState:
    """The current plan and counters; the plan object is swapped, never mutated."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    rng: random.Random = field(default_factory=random.Random)
    injected_errors: int = 0
    injected_drops: int = 0
    outage_answers: int = 0

    def decide(self, method: str, path: str) -> Decision:
        plan = self.plan
        if not path.startswith("/api/"):
            return Decision("pass")
        if plan.outage:
            self.outage_answers += 1
            return Decision("outage")
        rules = [r for r in plan.rules if r.matches(method, path)]
        latency = sum(r.latency_ms for r in rules)
        for rule in rules:
            if rule.drop_rate and self.rng.random() < rule.drop_rate:
                self.injected_drops += 1
                return Decision("drop", latency)
            if rule.error_rate and self.rng.random() < rule.error_rate:
                self.injected_errors += 1
                return Decision("error", latency)
            if rule.drop_after_rate and self.rng.random() < rule.drop_after_rate:
                self.injected_drops += 1
                return Decision("drop_after", latency)
        return Decision("pass", latency)


class FaultSpecError(ValueError):
    """A ``--fault`` argument that does not parse."""


_KEYS = {"latency_ms": int, "error_rate": float, "drop_rate": float, "drop_after_rate": float}


def parse_fault_spec(spec: str) -> FaultRule | Literal["outage"]:
    """Parse one ``--fault`` argument (syntax in the module docstring)."""
    text = spec.strip()
    if text == "outage":
        return "outage"
    target, sep, options = text.partition(":")
    if not sep or not options.strip():
        raise FaultSpecError(f"{spec!r}: expected [METHOD ]PATH:key=value[,...] or 'outage'")
    parts = target.split()
    if len(parts) == 2:
        method: str | None = parts[0].upper()
        path = parts[1]
    elif len(parts) == 1:
        method, path = None, parts[0]
    else:
        raise FaultSpecError(f"{spec!r}: expected [METHOD ]PATH before ':'")
    values: dict[str, object] = {"path": path, "method": method}
    for item in options.split(","):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or key not in _KEYS:
            raise FaultSpecError(f"{spec!r}: unknown option {key!r} (use {', '.join(_KEYS)})")
        try:
            values[key] = _KEYS[key](raw.strip())
        except ValueError:
            raise FaultSpecError(f"{spec!r}: {key} needs a number, not {raw.strip()!r}") from None
    try:
        return FaultRule.model_validate(values)
    except ValueError as exc:
        raise FaultSpecError(f"{spec!r}: {exc}") from None


def plan_from_specs(specs: list[str]) -> FaultPlan:
    rules: list[FaultRule] = []
    outage = False
    for spec in specs:
        parsed = parse_fault_spec(spec)
        if parsed == "outage":
            outage = True
        else:
            assert isinstance(parsed, FaultRule)
            rules.append(parsed)
    return FaultPlan(rules=rules, outage=outage)
