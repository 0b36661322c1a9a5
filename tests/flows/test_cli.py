"""``kiosk flows list | validate | show | run | graph``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from config import ExitCode
from kiosk.cli.main import main

DATA = Path(__file__).with_name("data")
ROOT = Path(__file__).resolve().parents[2]


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    ids = {f["id"]: f for f in doc["flows"]}
    assert "YJS-0009" in ids["yjs.newborn"]["items"]
    assert ids["cert.print"]["devices"] == ["a4_printer"]
    assert main(["flows", "list"]) == 0
    assert "yjs.newborn" in capsys.readouterr().out


def test_validate_ok_and_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = ROOT / "flows" / "definitions" / "yjs.newborn.yaml"
    assert main(["flows", "validate", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    doc = yaml.safe_load(good.read_text("utf-8"))
    doc["steps"][1]["title"] = {"zh_CN": "授权"}
    doc["steps"][2]["type"] = "teleport"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    assert main(["flows", "validate", str(bad)]) == ExitCode.FLOW_INVALID
    err = capsys.readouterr().err
    assert f"{bad}: /steps/1/title: missing translation 'en'" in err
    assert f"{bad}: /steps/2/type: unknown step type 'teleport'" in err
    assert main(["flows", "validate", str(bad), "--json"]) == ExitCode.FLOW_INVALID
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert {
        "source": str(bad),
        "path": "/steps/1/title",
        "reason": "missing translation 'en'",
    } in problems
    assert main(["flows", "validate", str(tmp_path / "missing.yaml")]) == ExitCode.FLOW_NOT_FOUND


def test_show_and_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "show", "licence.print", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    consent = next(s for s in doc["steps"] if s["id"] == "consent")
    assert consent["next"] == [
        {"goto": "form", "if": "session.licences > 0"},
        {"goto": "none", "if": None},
    ]
    assert main(["flows", "show", "no.such.flow"]) == ExitCode.FLOW_NOT_FOUND
    assert "no flow 'no.such.flow'" in capsys.readouterr().err


def test_graph_is_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "graph", "yjs.enterprise"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart TD\n")
    assert "s_commitment -.->|decline| s_materials" in text
    assert "s_review -.->|edit| s_form" in text
    assert main(["flows", "graph", "nope"]) == ExitCode.FLOW_NOT_FOUND


def test_run_trace(capsys: pytest.CaptureFixture[str]) -> None:
    events = DATA / "newborn_events.yaml"
    assert main(["flows", "run", "yjs.newborn", "--events", str(events)]) == 0
    text = capsys.readouterr().out
    assert "press method=id_card\n    → read_id_card" in text
    assert "→ show identify:choose" in text
    assert "(idle warning)" in text
    assert text.rstrip().endswith("session: timeout")


def test_run_json_masks_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    events = DATA / "newborn_events.yaml"
    assert main(["flows", "run", "yjs.newborn", "--events", str(events), "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc["end"] == "timeout" and doc["item"] == "YJS-0009"
    assert "测试甲乙丙" not in out and "370102198503123714" not in out and "17000009999" not in out
    shows = [e for entry in doc["trace"] for e in entry["effects"] if e["effect"] == "show"]
    form = next(s["view"] for s in shows if s["view"]["step_type"] == "form")
    name = next(f for f in form["fields"] if f["id"] == "applicant_name")
    assert name["display"] == "***" and name["personal_data"]
    # the camera was declared down in the events file: face is not offered
    first = shows[0]["view"]
    assert [c["value"] for c in first["choices"]] == ["id_card", "lutong_code"]
    assert main(["flows", "run", "yjs.newborn", "--events", str(events), "--json", "--reveal"]) == 0
    assert "测试甲乙丙" in capsys.readouterr().out


def test_run_bad_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ev.yaml"
    bad.write_text("- {type: warp}\n", "utf-8")
    assert (
        main(["flows", "run", "yjs.newborn", "--events", str(bad)]) == ExitCode.FLOW_EVENTS_INVALID
    )
    assert "event 0: unknown event type 'warp'" in capsys.readouterr().err
    bad.write_text("events: 3\n", "utf-8")
    assert (
        main(["flows", "run", "yjs.newborn", "--events", str(bad)]) == ExitCode.FLOW_EVENTS_INVALID
    )
    bad.write_text("[", "utf-8")
    assert (
        main(["flows", "run", "yjs.newborn", "--events", str(bad)]) == ExitCode.FLOW_EVENTS_INVALID
    )
    good = DATA / "newborn_events.yaml"
    assert (
        main(["flows", "run", "yjs.newborn", "--events", str(good), "--item", "NOPE"])
        == ExitCode.FLOW_NOT_FOUND
    )


def test_run_a_flow_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "id": "demo.tiny",
        "version": 1,
        "title": {"zh_CN": "演示", "en": "Demo"},
        "steps": [
            {"id": "done", "type": "finish", "title": {"zh_CN": "完成", "en": "Done"}},
        ],
    }
    flow = tmp_path / "tiny.yaml"
    flow.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    events = tmp_path / "ev.json"
    events.write_text(json.dumps([{"type": "press", "action": "done"}]), "utf-8")
    assert main(["flows", "run", str(flow), "--events", str(events), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["end"] == "finished" and result["item"] == "TEST-0001"
