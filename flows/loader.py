"""Loading flow documents: YAML/JSON text → validated :class:`flows.model.FlowDef`.

Validation has two layers, and every problem found is reported, each as
``SOURCE: /json/pointer: reason`` (:class:`FlowProblem`):

1. the JSON Schema kept in ``flows/schema/flow.schema.json`` (shape, step types, required
   parameters, translations: every citizen-visible text object needs non-empty ``zh_CN``
   and ``en``);
2. structural checks the schema cannot express: duplicate or unknown step ids, unreachable
   steps, dead ends (a step that is not a finish step and leads nowhere, a conditional
   ``next`` whose branches may all be false, a loop with no way out), bad condition
   expressions (:mod:`flows.expr`), bad field patterns, inconsistent idle timers, and
   ``assistant: true`` (remote help shows the value to the assistant) on a field whose value
   is personal (:func:`_personal_reason`).

This module does no I/O of its own beyond reading package data through
:mod:`importlib.resources`: callers pass the text of a file they read themselves.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import yaml

from flows.expr import ExpressionError, compile_expression, roots_of
from flows.model import (
    STEP_TYPES,
    Branch,
    Choice,
    FieldDef,
    FlowDef,
    IdleSpec,
    StepDef,
    Text,
)

#: libyaml's safe loader when PyYAML was built with it (about 10x faster: flows load at every
#: kiosk start), else the pure-Python one; both accept exactly the same documents.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class FlowProblem:
    source: str
    path: str  # JSON pointer inside the document ("" is the whole document)
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path or '/'}: {self.reason}"


class FlowError(ValueError):
    """A flow document is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[FlowProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FlowNotFoundError(KeyError):
    """No flow with this id is known."""


@functools.cache
def flow_schema() -> dict[str, Any]:
    text = resources.files("flows.schema").joinpath("flow.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(flow_schema())
    cls.check_schema(flow_schema())
    validator: jsonschema.protocols.Validator = cls(flow_schema())
    return validator


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _schema_reason(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """Rewrite jsonschema's generic messages into ones a flow author can act on."""
    path = list(error.absolute_path)
    sub = error.schema if isinstance(error.schema, Mapping) else {}
    if sub.get("title") == "translated text":
        if error.validator == "required":
            inst = error.instance if isinstance(error.instance, Mapping) else {}
            missing = [k for k in ("zh_CN", "en") if k not in inst]
            return path, f"missing translation {missing[0]!r}" if missing else error.message
        if error.validator == "type":
            return path, "text must be an object with 'zh_CN' and 'en'"
    if error.validator == "minLength" and path and path[-1] in ("zh_CN", "en"):
        return path, f"empty translation {path[-1]!r}"
    if path and path[-1] == "type" and error.validator == "enum" and "steps" in path:
        return path, f"unknown step type {error.instance!r} (known: {', '.join(STEP_TYPES)})"
    if error.validator == "oneOf" and path and path[-1] == "next":
        return path, "'next' must be a step id or a list of {if: EXPRESSION, goto: STEP}"
    if error.validator == "additionalProperties":
        return path, error.message.replace("Additional properties", "unknown key(s)")
    return path, error.message


def _check_schema(doc: Any, source: str) -> list[FlowProblem]:
    problems = []
    for error in _validator().iter_errors(doc):
        path, reason = _schema_reason(error)
        problems.append(FlowProblem(source, _pointer(path), reason))
    problems.sort(key=lambda p: (p.path, p.reason))
    return problems


#: Field kinds masked on screen unless the definition says otherwise.
MASKED_KINDS = ("id_number", "phone")
#: Sources whose values are the citizen's own data (a field filled from them is personal).
PERSONAL_SOURCES = ("identity.", "licence.")


def _personal_reason(raw: Mapping[str, Any], kind: str, masked: bool) -> str | None:
    """Why a field may not carry ``assistant: true`` (its value is personal), or None."""
    if raw.get("personal_data"):
        return "is personal data"
    if kind in MASKED_KINDS:
        return f"is of kind {kind}"
    if masked:
        return "is masked on screen"
    if raw.get("choices_from"):
        return f"offers the citizen's own {raw['choices_from']}"
    source = next((s for s in raw.get("from", ()) if s.startswith(PERSONAL_SOURCES)), None)
    if source is not None:
        return f"is filled from {source}"
    return None


def _text(raw: Mapping[str, str] | None) -> Text | None:
    return None if raw is None else Text(zh_CN=raw["zh_CN"], en=raw["en"])


def _idle(raw: Mapping[str, float] | None) -> IdleSpec | None:
    if raw is None:
        return None
    return IdleSpec(timeout_s=float(raw["timeout_s"]), warning_s=float(raw["warning_s"]))


class _Builder:
    """Builds the typed flow while collecting structural problems."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[FlowProblem] = []

    def problem(self, path: Sequence[Any], reason: str) -> None:
        self.problems.append(FlowProblem(self.source, _pointer(path), reason))

    def expr(self, text: str | None, path: Sequence[Any]) -> Any:
        if text is None:
            return None
        try:
            return compile_expression(text)
        except ExpressionError as exc:
            self.problem(path, f"bad expression {text!r}: {exc}")
            return None

    def idle(self, raw: Mapping[str, float] | None, path: Sequence[Any]) -> IdleSpec | None:
        spec = _idle(raw)
        if spec is not None and spec.warning_s >= spec.timeout_s:
            self.problem(path, "idle warning_s must be less than timeout_s")
        return spec

    def field(self, raw: Mapping[str, Any], path: list[Any]) -> FieldDef:
        pattern = raw.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.problem([*path, "pattern"], f"bad pattern {pattern!r}: {exc}")
        kind = raw["kind"]
        if kind in ("choice", "multi_choice") and not (
            raw.get("choices") or raw.get("choices_from")
        ):
            self.problem(
                path, f"field {raw['id']!r} of kind {kind} needs 'choices' or 'choices_from'"
            )
        choices = tuple(
            Choice(value=c["value"], label=Text(**c["label"])) for c in raw.get("choices", ())
        )
        when = self.expr(raw.get("when"), [*path, "when"])
        masked = bool(raw.get("masked", kind in MASKED_KINDS))
        assistant = bool(raw.get("assistant", False))
        if assistant:
            why = _personal_reason(raw, kind, masked)
            if why:
                self.problem(
                    [*path, "assistant"],
                    f"field {raw['id']!r} {why}: it cannot be shown to a remote assistant "
                    "(drop 'assistant: true'; the assistant may still fill it, write-only)",
                )
        return FieldDef(
            id=raw["id"],
            kind=kind,
            label=Text(**raw["label"]),
            sources=tuple(raw.get("from", ())),
            required=bool(raw.get("required", True)),
            editable=raw.get("editable"),
            pattern=pattern,
            minimum=raw.get("min"),
            maximum=raw.get("max"),
            choices=choices,
            choices_from=raw.get("choices_from"),
            personal_data=bool(raw.get("personal_data", False)),
            masked=masked,
            scan=bool(raw.get("scan", False)),
            hint=_text(raw.get("hint")),
            when=when,
            when_static=when is not None and roots_of(raw["when"]) <= {"item"},
            assistant=assistant,
        )

    def step(self, raw: Mapping[str, Any], path: list[Any]) -> StepDef:
        nxt = raw.get("next")
        branches: list[Branch] = []
        if isinstance(nxt, str):
            branches.append(Branch(goto=nxt))
        elif isinstance(nxt, list):
            for i, b in enumerate(nxt):
                cond = b.get("if")
                branches.append(
                    Branch(
                        goto=b["goto"],
                        condition=self.expr(cond, [*path, "next", i, "if"]),
                        source=cond,
                    )
                )
            if branches and branches[-1].source is not None:
                self.problem(
                    [*path, "next", len(branches) - 1],
                    "dead end: the last branch of 'next' has an 'if', so no branch may apply "
                    "(give the last branch no 'if')",
                )
        fields = []
        seen_fields: set[str] = set()
        for i, f in enumerate(raw.get("fields", ())):
            if f["id"] in seen_fields:
                self.problem([*path, "fields", i, "id"], f"duplicate field id {f['id']!r}")
            seen_fields.add(f["id"])
            fields.append(self.field(f, [*path, "fields", i]))
        return StepDef(
            id=raw["id"],
            type=raw["type"],
            title=Text(**raw["title"]),
            prompt=_text(raw.get("prompt")),
            next=tuple(branches),
            when=self.expr(raw.get("when"), [*path, "when"]),
            when_source=raw.get("when"),
            idle=self.idle(raw.get("idle"), [*path, "idle"]),
            methods=tuple(raw.get("methods", ())),
            max_attempts=int(raw.get("max_attempts", 3)),
            face_after_card=bool(raw.get("face_after_card", False)),
            text=_text(raw.get("text")),
            scope=tuple(raw.get("scope", ())),
            fetch=tuple(raw.get("fetch", ())),
            on_decline=raw.get("on_decline"),
            fields=tuple(fields),
            edit=raw.get("edit"),
            request=raw.get("request"),
            document=raw.get("document"),
            printer=raw.get("printer"),
            optional=bool(raw.get("optional", False)),
        )

    def structure(self, steps: Sequence[StepDef], raw_steps: Sequence[Any]) -> None:
        index: dict[str, int] = {}
        for i, step in enumerate(steps):
            if step.id in index:
                self.problem(["steps", i, "id"], f"duplicate step id {step.id!r}")
            else:
                index[step.id] = i
        for i, step in enumerate(steps):
            where = ["steps", i]
            for key, target in (("on_decline", step.on_decline), ("edit", step.edit)):
                if target is not None and target not in index:
                    self.problem([*where, key], f"{key} names unknown step {target!r}")
            for j, branch in enumerate(step.next):
                if branch.goto not in index:
                    sub = (
                        [*where, "next"]
                        if isinstance(raw_steps[i].get("next"), str)
                        else [*where, "next", j, "goto"]
                    )
                    self.problem(sub, f"next names unknown step {branch.goto!r}")
            if step.type == "finish" and step.next:
                self.problem([*where, "next"], "a finish step ends the flow: it has no 'next'")
            if step.type != "finish" and not step.next:
                self.problem(
                    where,
                    f"dead end: step {step.id!r} ({step.type}) has no 'next' and is not a "
                    "finish step",
                )
            if (
                step.type == "consent"
                and "user_info" in step.fetch
                and "identity" not in step.scope
            ):
                self.problem([*where, "scope"], "fetching user_info needs 'identity' in scope")
        if any(p.reason.startswith("duplicate step id") for p in self.problems):
            return
        # reachability from the first step
        succ = {s.id: [t for t in s.targets() if t in index] for s in steps}
        seen = {steps[0].id}
        todo = [steps[0].id]
        while todo:
            for t in succ[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        for i, step in enumerate(steps):
            if step.id not in seen:
                self.problem(["steps", i], f"step {step.id!r} is unreachable from {steps[0].id!r}")
        # every reachable step must be able to reach a finish step
        can_finish = {s.id for s in steps if s.type == "finish"}
        changed = True
        while changed:
            changed = False
            for s in steps:
                if s.id not in can_finish and any(t in can_finish for t in succ[s.id]):
                    can_finish.add(s.id)
                    changed = True
        for i, step in enumerate(steps):
            if step.id in seen and step.id not in can_finish and step.next:
                self.problem(
                    ["steps", i], f"dead end: no finish step can be reached from {step.id!r}"
                )


def load_flow_document(doc: Any, source: str = "<memory>") -> FlowDef:
    """Validate an already-parsed document and build the flow; raise :class:`FlowError`."""
    try:
        problems = _check_schema(doc, source)
    except RecursionError:
        raise FlowError([FlowProblem(source, "", "document nested too deeply")]) from None
    if problems:
        raise FlowError(problems)
    builder = _Builder(source)
    raw_steps = doc["steps"]
    steps = tuple(builder.step(raw, ["steps", i]) for i, raw in enumerate(raw_steps))
    flow_idle = builder.idle(doc.get("idle"), ["idle"])
    builder.structure(steps, raw_steps)
    if builder.problems:
        raise FlowError(builder.problems)
    return FlowDef(
        id=doc["id"],
        version=doc["version"],
        title=Text(**doc["title"]),
        steps=steps,
        devices=tuple(doc.get("devices", ())),
        needs_online=bool(doc.get("needs_online", False)),
        idle=flow_idle,
        source=source,
        index={s.id: i for i, s in enumerate(steps)},
    )


def load_flow(text: str, source: str = "<memory>") -> FlowDef:
    """Parse YAML (or JSON, a subset of YAML) ``text`` and load the flow it defines."""
    try:
        doc = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise FlowError([FlowProblem(source, "", f"not valid YAML{where}: {problem}")]) from None
    except RecursionError:
        raise FlowError([FlowProblem(source, "", "document nested too deeply")]) from None
    if not isinstance(doc, dict):
        raise FlowError(
            [FlowProblem(source, "", f"a flow document is a mapping, not {type(doc).__name__}")]
        )
    return load_flow_document(doc, source)


@functools.cache
def shipped_flows() -> Mapping[str, FlowDef]:
    """The flows shipped in ``flows/definitions/*.yaml``, by id (loaded once, cached)."""
    flows: dict[str, FlowDef] = {}
    problems: list[FlowProblem] = []
    folder = resources.files("flows.definitions")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yaml", ".yml")):
            continue
        source = f"flows/definitions/{entry.name}"
        try:
            flow = load_flow(entry.read_text("utf-8"), source)
        except FlowError as exc:
            problems.extend(exc.problems)
            continue
        if flow.id in flows:
            problems.append(FlowProblem(source, "/id", f"flow id {flow.id!r} defined twice"))
        flows[flow.id] = flow
    if problems:
        raise FlowError(problems)
    return flows


def get_flow(flow_id: str) -> FlowDef:
    try:
        return shipped_flows()[flow_id]
    except KeyError:
        raise FlowNotFoundError(flow_id) from None
