"""Engine behaviour, event by event: idle timer, stale answers, help, back, the view-model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from flows import events as ev
from flows.catalogue import Catalogue
from flows.engine import FlowEngine, SessionBusyError
from flows.headless import SYNTHETIC_PERSON, Autopilot, Policy, all_devices
from flows.model import FlowDef
from flows.views import StepView
from tests.flows.conftest import Runner


def view_of(effects: Sequence[ev.Effect]) -> StepView:
    shows = [e for e in effects if isinstance(e, ev.Show)]
    assert shows, f"no Show in {effects}"
    assert isinstance(effects[-1], ev.Show), "Show comes last"
    view: StepView = shows[-1].view
    return view


def of_type(effects: Sequence[ev.Effect], cls: type[ev.Effect]) -> list[ev.Effect]:
    return [e for e in effects if isinstance(e, cls)]


def card(rid: int | None = None) -> ev.IdCardRead:
    p = SYNTHETIC_PERSON
    return ev.IdCardRead(
        request_id=rid,
        name=p["name"],
        id_number=p["id_number"],
        gender=p["gender"],
        birth=p["birth"],
        address=p["address"],
    )


@pytest.fixture
def engine(flows: Mapping[str, FlowDef]) -> FlowEngine:
    return FlowEngine(flows)


def start(engine: FlowEngine, catalogue: Catalogue, code: str, **kw: object) -> list[ev.Effect]:
    item = catalogue.item(code)
    devices = kw.pop("devices", all_devices())
    return engine.start(item.flow, item, devices=devices, online=bool(kw.pop("online", True)))  # type: ignore[arg-type]


def to_consent(engine: FlowEngine, catalogue: Catalogue, code: str = "YJS-0009") -> StepView:
    start(engine, catalogue, code)
    fx = engine.feed(ev.Press("method", "id_card"))
    (read,) = of_type(fx, ev.ReadIdCard)
    return view_of(engine.feed(card(read.request_id)))  # type: ignore[attr-defined]


def test_start_shows_identification_choices(engine: FlowEngine, catalogue: Catalogue) -> None:
    fx = start(engine, catalogue, "YJS-0009")
    view = view_of(fx)
    assert (view.step_type, view.phase) == ("identify", "choose")
    assert [c.value for c in view.choices] == ["id_card", "lutong_code", "face"]
    assert view.progress.index == 1 and view.progress.total == 9  # commitment is skipped for now
    assert view.countdown.state == "running" and view.countdown.timeout_s == 60
    assert [b.action for b in view.buttons] == ["help", "cancel"]
    assert of_type(fx, ev.Speak) and of_type(fx, ev.StartTimer)


def test_one_session_at_a_time(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "YJS-0009")
    with pytest.raises(SessionBusyError):
        start(engine, catalogue, "YJS-0001")


def test_single_usable_method_starts_at_once(engine: FlowEngine, catalogue: Catalogue) -> None:
    fx = start(
        engine, catalogue, "YJS-0009", devices={**all_devices(), "scanner": False, "camera": False}
    )
    assert of_type(fx, ev.ReadIdCard)
    view = view_of(fx)
    assert view.phase == "waiting_card"
    assert view.prompt is not None and "身份证" in view.prompt.zh_CN


def test_idle_warning_then_reset_by_ticks(engine: FlowEngine, catalogue: Catalogue) -> None:
    engine.feed(ev.Tick(100.0))
    start(engine, catalogue, "YJS-0009")
    assert engine.feed(ev.Tick(144.0)) == []  # nothing before 45 s
    fx = engine.feed(ev.Tick(145.0))
    view = view_of(fx)
    assert view.countdown.state == "warning" and view.countdown.remaining_s == 15.0
    assert view.buttons[0].action == "continue"
    fx = engine.feed(ev.Press("continue"))
    assert view_of(fx).countdown.state == "running"
    engine.feed(ev.Tick(189.9))
    fx = engine.feed(ev.Tick(205.0))
    assert of_type(fx, ev.EndSession)[0].reason == "timeout"  # type: ignore[attr-defined]
    assert not engine.active


def test_idle_by_timer_events(engine: FlowEngine, catalogue: Catalogue) -> None:
    fx = start(engine, catalogue, "YJS-0009")
    assert of_type(fx, ev.StartTimer)[-1].after_s == 45  # type: ignore[attr-defined]
    fx = engine.feed(ev.TimerFired("idle"))
    assert view_of(fx).countdown.state == "warning"
    assert of_type(fx, ev.StartTimer)[-1].after_s == 15  # type: ignore[attr-defined]
    fx = engine.feed(ev.TimerFired("idle"))
    assert of_type(fx, ev.EndSession) and not engine.active


def test_idle_pauses_while_the_system_works(engine: FlowEngine, catalogue: Catalogue) -> None:
    to_consent(engine, catalogue)
    fx = engine.feed(ev.Press("agree"))
    assert of_type(fx, ev.FetchUserInfo) and of_type(fx, ev.CancelTimer)
    assert view_of(fx).countdown.state == "paused" and view_of(fx).busy
    assert engine.feed(ev.Tick(10_000.0)) == []  # no timeout while fetching
    assert engine.active


def test_idle_runs_while_waiting_for_the_card(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "YJS-0009")
    fx = engine.feed(ev.Press("method", "id_card"))
    (read,) = of_type(fx, ev.ReadIdCard)
    engine.feed(ev.Tick(46.0))
    fx = engine.feed(ev.Tick(61.0))
    cancel = of_type(fx, ev.CancelRequest)
    assert cancel and cancel[0].request_id == read.request_id  # type: ignore[attr-defined]
    assert of_type(fx, ev.EndSession)


def test_per_step_idle_override_on_finish(engine: FlowEngine, catalogue: Catalogue) -> None:
    trace = Autopilot(Policy(timeout_at="done")).drive(
        engine, "benefit.matched", catalogue.item("MS-0001"), devices=all_devices()
    )
    finish_views = [
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_id == "done"
    ]
    assert finish_views[0].countdown.timeout_s == 20 and finish_views[0].countdown.warning_s == 10
    assert trace.end_reason == "timeout"


def test_config_defaults_are_respected(flows: Mapping[str, FlowDef], catalogue: Catalogue) -> None:
    engine = FlowEngine(flows, idle_timeout_s=90, idle_warning_s=70)
    fx = start(engine, catalogue, "YJS-0009")
    assert view_of(fx).countdown.timeout_s == 90
    with pytest.raises(ValueError, match="less than"):
        FlowEngine(flows, idle_timeout_s=10, idle_warning_s=10)


def test_stale_and_unexpected_answers_are_ignored(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "YJS-0009")
    assert engine.feed(card()) == []  # nobody asked for a card yet
    fx = engine.feed(ev.Press("method", "id_card"))
    (read,) = of_type(fx, ev.ReadIdCard)
    fx = engine.feed(ev.Press("method", "lutong_code"))  # switch: the read is abandoned
    assert of_type(fx, ev.CancelRequest)[0].request_id == read.request_id  # type: ignore[attr-defined]
    assert engine.feed(card(read.request_id)) == []  # type: ignore[attr-defined]
    assert engine.session is not None and engine.session.identity == {}
    assert engine.events_ignored == 2


def test_late_answer_after_cancel_never_enters_a_new_session(
    engine: FlowEngine, catalogue: Catalogue
) -> None:
    start(engine, catalogue, "YJS-0009")
    fx = engine.feed(ev.Press("method", "id_card"))
    (read,) = of_type(fx, ev.ReadIdCard)
    engine.feed(ev.Press("cancel"))
    start(engine, catalogue, "YJS-0009")
    assert engine.feed(card(read.request_id)) == []  # type: ignore[attr-defined]
    assert engine.session is not None and engine.session.identity == {}


def test_derived_fields_are_locked_and_masked(engine: FlowEngine, catalogue: Catalogue) -> None:
    to_consent(engine, catalogue)
    engine.feed(ev.Press("agree"))
    engine.feed(ev.UserInfoFetched(phone="17000009999"))
    view = view_of(
        engine.feed(
            ev.LicencesFetched(
                licences=(ev.Licence("L1", "birth_certificate", "出生医学证明", "Q370000001"),)
            )
        )
    )
    assert view.step_type == "form"
    fields = {f.id: f for f in view.fields}
    assert fields["applicant_name"].source == "identity" and not fields["applicant_name"].editable
    assert fields["id_number"].masked and fields["id_number"].display == "3701**********3714"
    assert fields["id_number"].value is None  # a locked field's raw value is not in the view
    assert fields["phone"].editable  # editable: true in the document, though derived
    assert (
        fields["birth_cert_no"].source == "licence"
        and fields["birth_cert_no"].display == "Q370000001"
    )
    assert (
        fields["baby_name"].source is None
        and fields["baby_name"].editable
        and fields["baby_name"].personal_data
    )
    assert [c.value for c in fields["baby_gender"].choices] == ["1", "2"]


def test_form_validation_errors(engine: FlowEngine, catalogue: Catalogue) -> None:
    to_consent(engine, catalogue)
    engine.feed(ev.Press("agree"))
    engine.feed(ev.EffectFailed(effect="fetch_user_info", reason="offline"))
    engine.feed(ev.EffectFailed(effect="fetch_licences", reason="offline"))
    view = view_of(engine.feed(ev.Press("next")))
    errors = {f.id: f.error for f in view.fields if f.error}
    assert set(errors) >= {"baby_name", "birth_date", "phone", "birth_cert_no"}
    view = view_of(engine.feed(ev.Input("phone", "12345")))
    assert next(f for f in view.fields if f.id == "phone").error is not None
    view = view_of(engine.feed(ev.Input("birth_date", "2026-02-30")))
    assert next(f for f in view.fields if f.id == "birth_date").error is not None
    view = view_of(engine.feed(ev.Input("baby_gender", "3")))
    err = next(f for f in view.fields if f.id == "baby_gender").error
    assert err is not None and err.en == "Choose one of the options"
    view = view_of(engine.feed(ev.Input("phone", "17000009999")))
    assert next(f for f in view.fields if f.id == "phone").error is None
    assert engine.feed(ev.Input("applicant_name", "x")) == []  # from the card: locked
    assert (
        engine.session is not None
        and engine.session.form["applicant_name"] == SYNTHETIC_PERSON["name"]
    )


def test_conditional_field_appears(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "YJS-0007")
    engine.feed(ev.Press("method", "id_card"))
    engine.feed(card())
    engine.feed(ev.Press("agree"))
    engine.feed(ev.UserInfoFetched())
    view = view_of(engine.feed(ev.LicencesFetched()))
    assert "power_kw" not in {f.id for f in view.fields}
    view = view_of(engine.feed(ev.Input("services", "water,power")))
    assert "power_kw" in {f.id for f in view.fields}


def test_licences_satisfy_materials_without_submission(run: Runner, catalogue: Catalogue) -> None:
    from tests.flows.test_branches import licences_for

    item = catalogue.item("YJS-0009")
    _, trace = run("YJS-0009", Policy(licences=licences_for(item)))
    submit = next(e for t in trace.entries for e in t.effects if isinstance(e, ev.SubmitCase))
    sources = {m["code"]: m["source"] for m in submit.materials}
    assert sources == {"M01": "licence", "M02": "licence", "M03": "licence"}  # 免提交
    assert not submit.commitment
    assert submit.applicant["id_number"] == SYNTHETIC_PERSON["id_number"]
    assert submit.idempotency_key.endswith(":submit")


def test_waived_material_needs_the_commitment(run: Runner) -> None:
    _, trace = run("YJS-0009", Policy(decline_commitment_once=True))
    screens = trace.screens()
    i = screens.index("commitment:ask")
    assert screens[i + 1] == "materials:collect"  # declining withdraws the 容缺 waiver
    assert "commitment:ask" in screens[i + 2 :]
    submit = next(e for t in trace.entries for e in t.effects if isinstance(e, ev.SubmitCase))
    assert submit.commitment and {m["source"] for m in submit.materials} == {"captured", "waived"}


def test_offline_submission_gives_a_queued_receipt(run: Runner) -> None:
    _, trace = run("YJS-0009", online=False)
    finish = next(
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "finish"
    )
    rows = {r.label.en: r.value for r in finish.summary}
    assert rows["Saved; sent when online. Receipt"] == "OB-0001"
    prints = [e for t in trace.entries for e in t.effects if isinstance(e, ev.PrintDocument)]
    assert prints[0].content["queued"] is True and prints[0].content["case_number"] is None


def test_pay_notice_shows_the_qr(run: Runner) -> None:
    _, trace = run("SW-0003")
    pay = [
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "pay_notice"
    ]
    assert pay and pay[0].payment is not None and pay[0].payment.qr.startswith("https://")
    _, trace = run("SW-0003", Policy(payment=False))
    assert "pay:show" not in trace.screens()


def test_help_calls_remote_video_only_where_offered(run: Runner) -> None:
    for code, mode in (("SW-0005", "remote_video"), ("SW-0003", "hall_staff")):
        _, trace = run(code, Policy(help_at="form"))
        calls = [e for t in trace.entries for e in t.effects if isinstance(e, ev.CallAssistant)]
        assert [c.mode for c in calls] == [mode]
        assert calls[0].step_id == "form"
        assert trace.end_reason == "finished"
    _, trace = run("SW-0005", Policy(help_at="form", assistant_available=False))
    views = [e.view for t in trace.entries for e in t.effects if isinstance(e, ev.Show)]
    assert any(v.assistant == "unavailable" for v in views)


def test_assistant_call_pauses_idle(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "SW-0005")
    fx = engine.feed(ev.Press("help"))
    assert of_type(fx, ev.CallAssistant) and view_of(fx).countdown.state == "paused"
    assert not view_of(fx).button("help").enabled  # type: ignore[union-attr]
    assert engine.feed(ev.Tick(1_000.0)) == []
    view = view_of(engine.feed(ev.AssistantJoined()))
    assert view.assistant == "connected"
    view = view_of(engine.feed(ev.AssistantLeft()))
    assert view.assistant is None and view.countdown.state == "running"


def test_back_and_edit(run: Runner) -> None:
    _, trace = run("YJS-0009", Policy(back_at="review"))
    screens = trace.screens()
    i = screens.index("review:confirm")
    assert screens[i + 1] == "commitment:ask"
    _, trace = run("YJS-0009", Policy(edit_once=True))
    screens = trace.screens()
    assert screens[screens.index("review:confirm") + 1] == "form:edit"
    assert trace.end_reason == "finished"


def test_identification_attempts_run_out(run: Runner) -> None:
    _, trace = run("YJS-0009", Policy(method="id_card", fail={"read_id_card": ["no_card"] * 5}))
    views = [e.view for t in trace.entries for e in t.effects if isinstance(e, ev.Show)]
    choose = [v for v in views if v.phase == "choose" and v.error is not None]
    card_choice = next(c for c in choose[-1].choices if c.value == "id_card")
    assert not card_choice.enabled and card_choice.reason is not None
    assert trace.screens()[-1] == "done:done"  # the citizen fell back to another method
    reads = [e for t in trace.entries for e in t.effects if isinstance(e, ev.ReadIdCard)]
    assert len(reads) == 3  # max_attempts


def test_face_verification_checks_the_id_number(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "YJS-0009")
    engine.feed(ev.Press("method", "face"))
    engine.feed(ev.Input("id_number", "370102198503123710"))  # wrong check digit
    view = view_of(engine.feed(ev.Press("next")))
    assert view.error is not None and view.error.en == "Not a valid ID number"
    engine.feed(ev.Input("id_number", SYNTHETIC_PERSON["id_number"]))
    fx = engine.feed(ev.Press("next"))
    (face,) = of_type(fx, ev.CaptureFace)
    assert face.against == "platform" and face.id_number == SYNTHETIC_PERSON["id_number"]  # type: ignore[attr-defined]
    view = view_of(engine.feed(ev.FaceCaptured(live=True, matched=True, score=0.9)))
    assert view.step_type == "consent"


def test_face_check_after_the_card(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "SW-0005")  # 代开发票: 人证核验
    engine.feed(ev.Press("method", "id_card"))
    fx = engine.feed(card())
    (face,) = of_type(fx, ev.CaptureFace)
    # matched against the platform's photo of the card's holder: the request names them
    assert face.against == "platform"  # type: ignore[attr-defined]
    assert face.id_number == card().id_number  # type: ignore[attr-defined]
    assert view_of(fx).phase == "waiting_face_card"
    view = view_of(engine.feed(ev.FaceCaptured(live=True, matched=False)))
    assert (
        view.phase == "choose"
        and view.error is not None
        and view.error.en == "Your face did not match"
    )
    assert engine.session is not None and engine.session.identity == {}  # the card data is dropped
    engine.feed(ev.Press("method", "id_card"))
    engine.feed(card())
    view = view_of(engine.feed(ev.FaceCaptured(live=True, matched=True, score=0.93)))
    assert view.step_type == "consent"
    # with the camera down the face check is skipped rather than blocking the card
    engine.feed(ev.Press("cancel"))
    start(engine, catalogue, "SW-0005", devices={**all_devices(), "camera": False})
    engine.feed(ev.Press("method", "id_card"))
    assert view_of(engine.feed(card())).step_type == "consent"


def test_lutong_code_identifies_through_verify(engine: FlowEngine, catalogue: Catalogue) -> None:
    start(engine, catalogue, "ZZ-0006")
    fx = engine.feed(ev.Press("method", "lutong_code"))
    assert of_type(fx, ev.ScanCode)
    fx = engine.feed(ev.CodeScanned(text="LTM:token"))
    (verify,) = of_type(fx, ev.VerifyCode)
    assert verify.code == "LTM:token"  # type: ignore[attr-defined]
    view = view_of(engine.feed(ev.CodeVerified(result="valid", holder_ref="h-1")))
    assert view.step_id == "form"
    view = view_of(engine.feed(ev.Input("category", "tax")))
    fx = engine.feed(ev.Press("next"))
    (query,) = of_type(fx, ev.QueryPlatform)
    assert query.kind == "queue_ticket" and query.params["holder_ref"] == "h-1"  # type: ignore[attr-defined]


def test_case_lookup_by_receipt_qr(run: Runner) -> None:
    _, trace = run("ZZ-0005")
    scans = [e for t in trace.entries for e in t.effects if isinstance(e, ev.ScanCode)]
    assert scans[0].purpose == "case_number"
    query = next(e for t in trace.entries for e in t.effects if isinstance(e, ev.QueryPlatform))
    assert query.params["case_number"] == "JN2026112800001"
    done = next(
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "finish"
    )
    assert {r.label.en: r.value for r in done.summary}["Case status"] == "办理中"


def test_benefits_are_shown_without_filing(run: Runner) -> None:
    _, trace = run("MS-0001")
    assert not any(isinstance(e, ev.SubmitCase) for t in trace.entries for e in t.effects)
    done = next(
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "finish"
    )
    assert any("高龄津贴" in r.value and r.personal_data for r in done.summary)


def test_licence_printing_with_and_without_licences(run: Runner) -> None:
    lic = (ev.Licence("L9", "hukou", "居民户口簿", "N1"),)
    _, trace = run("ZZ-0004", Policy(licences=lic))
    prints = [e for t in trace.entries for e in t.effects if isinstance(e, ev.PrintDocument)]
    assert prints[0].document == "licence" and prints[0].content["licence_id"] == "L9"
    assert prints[0].printer == "a4_printer"
    _, trace = run("ZZ-0004")
    assert trace.screens()[-1] == "none:done"


def test_print_failure_can_be_skipped(run: Runner) -> None:
    _, trace = run("YJS-0009", Policy(fail={"print_document": ["paper_out"] * 9}))
    views = [e.view for t in trace.entries for e in t.effects if isinstance(e, ev.Show)]
    failed = [v for v in views if v.step_type == "print" and v.phase == "failed"]
    assert failed[0].error is not None and "纸" in failed[0].error.zh_CN
    done = next(v for v in views if v.step_type == "finish")
    assert any(r.label.en.startswith("Not printed") for r in done.summary)
    assert trace.end_reason == "finished"


def test_evaluation_levels_and_reasons(run: Runner) -> None:
    _, trace = run("YJS-0009", Policy(rating="2"))
    (evaluation,) = [
        e for t in trace.entries for e in t.effects if isinstance(e, ev.SubmitEvaluation)
    ]
    assert evaluation.satisfaction == 2 and evaluation.reasons == ("bad_slow",)
    assert evaluation.case_number == "JN2026112800001"
    views = [
        e.view
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "evaluate"
    ]
    assert [c.label.zh_CN for c in views[0].choices] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]


def test_view_text_is_bilingual_everywhere(run: Runner) -> None:
    _, trace = run("YJS-0009")
    for t in trace.entries:
        for e in t.effects:
            if isinstance(e, ev.Show):
                v = e.view
                texts = [
                    v.title,
                    v.item_name,
                    *(b.label for b in v.buttons),
                    *(c.label for c in v.choices),
                    *(f.label for f in v.fields),
                ]
                assert all(x.zh_CN and x.en for x in texts)


def test_a_refused_page_tells_the_citizen_why(run: Runner) -> None:
    from flows.strings import T

    policy = Policy(waive=False, fail={"capture_document": ["no_document", "blurred", "device"]})
    _, trace = run("YJS-0009", policy)
    errors = [
        e.view.error
        for t in trace.entries
        for e in t.effects
        if isinstance(e, ev.Show) and e.view.step_type == "materials" and e.view.error
    ]
    assert errors[:3] == [
        T["err.capture_no_document"],
        T["err.capture_blurred"],
        T["err.no_camera"],
    ]
    submit = next(e for t in trace.entries for e in t.effects if isinstance(e, ev.SubmitCase))
    assert all(m["source"] == "captured" and m["content_ref"] for m in submit.materials)


def test_a_captured_page_can_be_retaken(engine: FlowEngine, catalogue: Catalogue) -> None:
    pilot = Autopilot(Policy(waive=False))
    effects = start(engine, catalogue, "YJS-0009")
    view = view_of(effects)
    for _ in range(60):  # play the citizen up to the materials step
        if view.step_type == "materials":
            break
        answers = [pilot.answer(e) for e in effects if isinstance(e, ev.Request)]
        event = next((a for a in answers if a is not None), None) or pilot.act(view)
        effects = engine.feed(event)
        view = next((e.view for e in effects if isinstance(e, ev.Show)), view)
    assert view.step_type == "materials"
    code = view.materials[0].code
    (req,) = of_type(engine.feed(ev.Press("capture", code)), ev.CaptureDocument)
    assert isinstance(req, ev.CaptureDocument) and req.material_code == code
    view = view_of(engine.feed(ev.DocumentCaptured(request_id=req.request_id, ref="page-1")))
    m = view.materials[0]
    assert (m.status, m.ref, m.can_capture) == ("captured", "page-1", True)
    (req,) = of_type(engine.feed(ev.Press("capture", code)), ev.CaptureDocument)  # 重拍
    assert isinstance(req, ev.CaptureDocument)
    view = view_of(engine.feed(ev.DocumentCaptured(request_id=req.request_id, ref="page-2")))
    assert view.materials[0].ref == "page-2"
