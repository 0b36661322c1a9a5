"""Synthetic step views for the remote-help tests (no personal data of real people)."""

from __future__ import annotations

from flows.model import Text
from flows.views import ButtonView, Countdown, FieldView, Progress, StepView

T = Text("字", "text")


def field(
    fid: str,
    value: str | None = None,
    *,
    editable: bool = True,
    masked: bool = False,
    kind: str = "text",
) -> FieldView:
    return FieldView(
        id=fid,
        kind=kind,
        label=Text(fid, fid),
        display=value,
        value=value,
        editable=editable,
        required=True,
        masked=masked,
        personal_data=True,
        source="input",
    )


def view(
    *fields: FieldView,
    step_id: str = "form1",
    step_type: str = "form",
    actions: tuple[str, ...] = ("back", "next", "help", "cancel"),
    busy: bool = False,
    flow_id: str = "tax.certificate",
) -> StepView:
    return StepView(
        flow_id=flow_id,
        item_code="370100-001",
        item_name=T,
        step_id=step_id,
        step_type=step_type,
        phase="edit",
        title=T,
        prompt=None,
        progress=Progress(2, 5),
        countdown=Countdown("paused", 120, 30),
        buttons=tuple(ButtonView(a, T) for a in actions),
        fields=fields,
        busy=busy,
    )
