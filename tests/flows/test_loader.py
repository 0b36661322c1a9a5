"""Flow documents: the shipped ones load; each kind of broken document gives its precise message."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.loader import FlowError, load_flow, load_flow_document, shipped_flows
from flows.model import STEP_TYPES

T = {"zh_CN": "标题", "en": "Title"}


def minimal() -> dict[str, Any]:
    return {
        "id": "test.min",
        "version": 1,
        "title": T,
        "steps": [
            {
                "id": "identify",
                "type": "identify",
                "title": T,
                "methods": ["id_card"],
                "next": "form",
            },
            {
                "id": "form",
                "type": "form",
                "title": T,
                "fields": [{"id": "phone", "kind": "phone", "label": T}],
                "next": [{"if": "item.remote_help", "goto": "done"}, {"goto": "done"}],
            },
            {"id": "done", "type": "finish", "title": T},
        ],
    }


def problems(doc: Any) -> list[str]:
    with pytest.raises(FlowError) as info:
        load_flow_document(doc, "f.yaml")
    return [str(p) for p in info.value.problems]


def test_minimal_document_loads() -> None:
    flow = load_flow_document(minimal(), "f.yaml")
    assert [s.id for s in flow.steps] == ["identify", "form", "done"]
    assert flow.step("form").next[0].source == "item.remote_help"


def test_all_shipped_flows_load_and_cover_every_step_type() -> None:
    flows = shipped_flows()
    assert len(flows) >= 14
    used = {s.type for f in flows.values() for s in f.steps}
    assert used == set(STEP_TYPES)


def mutate(path: list[Any], value: Any) -> dict[str, Any]:
    doc = minimal()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()

BROKEN = [
    # unknown step type
    (
        mutate(["steps", 1, "type"], "scan"),
        "f.yaml: /steps/1/type: unknown step type 'scan' (known: identify, consent, form, "
        "materials, commitment, review, submit, pay_notice, print, evaluate, finish)",
    ),
    # missing translation
    (
        mutate(["steps", 0, "title"], {"zh_CN": "身份核验"}),
        "f.yaml: /steps/0/title: missing translation 'en'",
    ),
    (
        mutate(["steps", 1, "fields", 0, "label"], {"en": "Phone"}),
        "f.yaml: /steps/1/fields/0/label: missing translation 'zh_CN'",
    ),
    (
        mutate(["title"], {"zh_CN": "", "en": "x"}),
        "f.yaml: /title/zh_CN: empty translation 'zh_CN'",
    ),
    # bad expressions
    (
        mutate(["steps", 1, "next", 0, "if"], "__import__('os').system('x')"),
        "f.yaml: /steps/1/next/0/if: bad expression \"__import__('os').system('x')\": "
        "Call is not allowed in a condition",
    ),
    (
        mutate(["steps", 1, "next", 0, "if"], "item.code =="),
        "f.yaml: /steps/1/next/0/if: bad expression 'item.code ==': syntax error: invalid syntax",
    ),
    (
        mutate(["steps", 1, "next", 0, "if"], "secret.x == 1"),
        "f.yaml: /steps/1/next/0/if: bad expression 'secret.x == 1': unknown name 'secret' "
        "(an expression may use consent, form, identity, item, materials, online, results, "
        "session)",
    ),
    (
        mutate(["steps", 1, "next", 0, "if"], "item.__class__ == 1"),
        "f.yaml: /steps/1/next/0/if: bad expression 'item.__class__ == 1': names starting "
        "with '_' are not allowed",
    ),
    # dead ends
    (
        mutate(["steps", 1, "next"], _DELETE),
        "f.yaml: /steps/1: dead end: step 'form' (form) has no 'next' and is not a finish step",
    ),
    (
        mutate(["steps", 1, "next"], [{"if": "online", "goto": "done"}]),
        "f.yaml: /steps/1/next/0: dead end: the last branch of 'next' has an 'if', so no branch "
        "may apply (give the last branch no 'if')",
    ),
    # unknown target
    (
        mutate(["steps", 0, "next"], "nowhere"),
        "f.yaml: /steps/0/next: next names unknown step 'nowhere'",
    ),
    # schema shape
    (
        mutate(["steps", 0, "methods"], ["iris"]),
        "f.yaml: /steps/0/methods/0: 'iris' is not one of ['id_card', 'lutong_code', 'face']",
    ),
    (
        mutate(["steps", 0, "colour"], "red"),
        "f.yaml: /steps/0: unknown key(s) are not allowed ('colour' was unexpected)",
    ),
    (
        mutate(["steps", 0, "methods"], _DELETE),
        "f.yaml: /steps/0: 'methods' is a required property",
    ),
    (
        mutate(["steps", 1, "fields", 0, "pattern"], "(["),
        "f.yaml: /steps/1/fields/0/pattern: bad pattern '([': unterminated character set at "
        "position 1",
    ),
    (
        mutate(["steps", 1, "idle"], {"timeout_s": 30, "warning_s": 30}),
        "f.yaml: /steps/1/idle: idle warning_s must be less than timeout_s",
    ),
]


@pytest.mark.parametrize(
    ("doc", "message"), BROKEN, ids=[m.split(": ", 2)[2][:40] for _, m in BROKEN]
)
def test_broken_document_gives_precise_message(doc: dict[str, Any], message: str) -> None:
    assert message in problems(doc)


def with_field(**extra: Any) -> dict[str, Any]:
    """The minimal document with a second form field carrying ``extra``."""
    doc = minimal()
    doc["steps"][1]["fields"].append({"id": "amount", "kind": "money", "label": T, **extra})
    return doc


def test_the_assistant_flag_defaults_to_false_and_loads_where_allowed() -> None:
    fields = load_flow_document(with_field(assistant=True), "f.yaml").step("form").fields
    assert [(f.id, f.assistant) for f in fields] == [("phone", False), ("amount", True)]
    plain = load_flow_document(with_field(), "f.yaml").step("form").fields
    assert not any(f.assistant for f in plain)


WHY = (
    ": it cannot be shown to a remote assistant (drop 'assistant: true'; the assistant may "
    "still fill it, write-only)"
)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            mutate(["steps", 1, "fields", 0, "assistant"], True),
            "f.yaml: /steps/1/fields/0/assistant: field 'phone' is of kind phone" + WHY,
        ),
        (
            with_field(assistant=True, personal_data=True),
            "f.yaml: /steps/1/fields/1/assistant: field 'amount' is personal data" + WHY,
        ),
        (
            with_field(assistant=True, masked=True),
            "f.yaml: /steps/1/fields/1/assistant: field 'amount' is masked on screen" + WHY,
        ),
        (
            with_field(assistant=True, kind="choice", choices_from="licences"),
            "f.yaml: /steps/1/fields/1/assistant: field 'amount' offers the citizen's own "
            "licences" + WHY,
        ),
        (
            with_field(assistant=True, **{"from": ["item.code", "identity.name"]}),
            "f.yaml: /steps/1/fields/1/assistant: field 'amount' is filled from identity.name"
            + WHY,
        ),
        (
            with_field(assistant=True, **{"from": ["licence.business_licence.number"]}),
            "f.yaml: /steps/1/fields/1/assistant: field 'amount' is filled from "
            "licence.business_licence.number" + WHY,
        ),
        (
            with_field(assistant="yes"),
            "f.yaml: /steps/1/fields/1/assistant: 'yes' is not of type 'boolean'",
        ),
    ],
    ids=["kind", "personal_data", "masked", "choices_from", "identity", "licence", "type"],
)
def test_the_assistant_flag_is_refused_on_personal_fields(
    doc: dict[str, Any], message: str
) -> None:
    assert problems(doc) == [message]


def test_the_shipped_flows_flag_no_personal_field_for_the_assistant() -> None:
    flagged = [
        (flow.id, f)
        for flow in shipped_flows().values()
        for step in flow.steps
        for f in step.fields
        if f.assistant
    ]
    assert len(flagged) >= 20  # business fields: item choices, years, amounts, dates
    for flow_id, f in flagged:
        assert not (f.personal_data or f.masked or f.choices_from), (flow_id, f.id)
        # free text may hold anything: only reviewed ones (goods and services invoiced)
        assert f.kind != "text" or (flow_id, f.id) == ("tax.invoice_issue", "goods"), f.id
        assert not any(s.startswith(("identity.", "licence.")) for s in f.sources), f.id


def test_unreachable_step() -> None:
    doc = minimal()
    doc["steps"].insert(2, {"id": "orphan", "type": "review", "title": T, "next": "done"})
    assert problems(doc) == ["f.yaml: /steps/2: step 'orphan' is unreachable from 'identify'"]


def test_loop_without_exit_is_a_dead_end() -> None:
    doc = minimal()
    doc["steps"][1]["next"] = "review"
    doc["steps"].insert(2, {"id": "review", "type": "review", "title": T, "next": "form"})
    found = problems(doc)
    assert "f.yaml: /steps/1: dead end: no finish step can be reached from 'form'" in found
    assert "f.yaml: /steps/3: step 'done' is unreachable from 'identify'" in found


def test_duplicate_ids() -> None:
    doc = minimal()
    doc["steps"][2]["id"] = "form"
    assert "f.yaml: /steps/2/id: duplicate step id 'form'" in problems(doc)
    doc = minimal()
    doc["steps"][1]["fields"].append(copy.deepcopy(doc["steps"][1]["fields"][0]))
    assert "f.yaml: /steps/1/fields/1/id: duplicate field id 'phone'" in problems(doc)


def test_finish_with_next_and_choice_without_choices() -> None:
    doc = minimal()
    doc["steps"][2]["next"] = "identify"
    doc["steps"][1]["fields"].append({"id": "pick", "kind": "choice", "label": T})
    found = problems(doc)
    assert "f.yaml: /steps/2/next: a finish step ends the flow: it has no 'next'" in found
    assert (
        "f.yaml: /steps/1/fields/1: field 'pick' of kind choice needs 'choices' or 'choices_from'"
        in found
    )


def test_every_problem_is_reported_at_once() -> None:
    doc = mutate(["steps", 0, "title"], {"zh_CN": "x"})
    doc["steps"][1]["type"] = "scan"
    assert len(problems(doc)) >= 2


def test_yaml_errors_name_the_line() -> None:
    with pytest.raises(FlowError) as info:
        load_flow("id: x\nsteps: [\n", "bad.yaml")
    assert str(info.value).startswith("bad.yaml: /: not valid YAML at line")
    with pytest.raises(FlowError, match="a flow document is a mapping, not list"):
        load_flow("- 1\n- 2\n", "list.yaml")


def test_yaml_round_trip_of_minimal() -> None:
    assert load_flow(yaml.safe_dump(minimal(), allow_unicode=True), "m.yaml").id == "test.min"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_garbage_text_never_crashes(text: str) -> None:
    try:
        load_flow(text, "fuzz.yaml")
    except FlowError as exc:
        assert exc.problems and all(p.source == "fuzz.yaml" for p in exc.problems)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["id", "version", "title", "steps", "idle", "x"]), json_values)
)
def test_random_documents_never_crash(doc: dict[str, Any]) -> None:
    with pytest.raises(FlowError):
        load_flow_document(doc, "fuzz.json")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2),
    st.sampled_from(["id", "type", "title", "next", "methods", "fields"]),
    json_values,
)
def test_mutated_steps_never_crash(index: int, key: str, value: Any) -> None:
    doc = minimal()
    doc["steps"][index][key] = value
    try:
        load_flow_document(doc, "fuzz.json")
    except FlowError as exc:
        assert exc.problems
