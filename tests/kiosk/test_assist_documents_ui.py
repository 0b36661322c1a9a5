"""The app's side of a document the remote assistant pushed (kiosk/app/assist_documents.py):
a verified PDF prints on the A4 printer (a real a4_pdf_dir device), an image is previewed, a
refused file is explained and never opened, and the citizen's session end forgets it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication

from config.schema import Settings
from flows import events as ev
from kiosk.app.shell import KioskController
from kiosk.app.tour import pump, wait_until
from kiosk.remote.notices import DocumentReceived, DocumentRefused
from kiosk.runtime import Runtime

PDF = b"%PDF-1.4\n% guide\n" + b"0" * 500 + b"\n%%EOF\n"
WAIT_S = 15.0


@pytest.fixture
def app(qapp: QApplication, tmp_path: Path) -> Iterator[KioskController]:
    (tmp_path / "a4").mkdir()
    settings = Settings.model_validate(
        {
            "platform": {"url": "http://127.0.0.1:9", "secret_file": None},
            "outbox": {"path": str(tmp_path / "o.sqlite3"), "key_file": str(tmp_path / "k")},
            "devices": {
                "a4_printer": {
                    "driver": "a4_pdf_dir",
                    "url": f"file://{tmp_path / 'a4'}",
                    "options": {"poll_interval": 0.2},
                }
            },
        }
    )
    c = KioskController(lambda post: Runtime(settings, post, secret="s" * 32))
    c.start()
    wait_until(lambda: c.booted, 10, "boot")
    wait_until(lambda: c.runtime.device_up()["a4_printer"], WAIT_S, "the A4 printer")
    try:
        yield c
    finally:
        c.stop()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 128, 255)).save(out, "PNG")
    return out.getvalue()


def test_a_verified_pdf_is_shown_and_printed(app: KioskController, tmp_path: Path) -> None:
    c, bar = app, app.window.document_bar
    c.bridge.post(DocumentReceived("sid-1", "doc-1", "办事指南", "application/pdf", PDF))
    pump(0.05)
    assert bar.isVisibleTo(c.window) and "办事指南" in bar.label.text()
    assert bar.print_button.isVisibleTo(c.window) and bar.print_button.isEnabled()
    bar.print_button.click()
    wait_until(lambda: "已打印" in bar.label.text(), WAIT_S, "the print job")
    (job,) = (tmp_path / "a4").glob("job-*.pdf")
    assert job.read_bytes() == PDF  # the verified bytes, printed as they are
    bar.close_button.click()
    assert not bar.isVisibleTo(c.window) and bar.document is None


def test_an_image_is_previewed_and_not_offered_for_printing(app: KioskController) -> None:
    c, bar = app, app.window.document_bar
    c.bridge.post(DocumentReceived("sid-1", "doc-2", "示例图", "image/png", png()))
    pump(0.05)
    assert bar.preview.isVisibleTo(c.window) and bar.preview.pixmap().width() == 40
    assert not bar.print_button.isVisibleTo(c.window)


def test_a_refused_file_is_explained_and_never_opened(app: KioskController) -> None:
    c, bar = app, app.window.document_bar
    c.bridge.post(DocumentRefused("sid-1", "doc-3", "办事指南", "hash_mismatch"))
    pump(0.05)
    assert "校验未通过" in bar.label.text() and bar.document is None
    assert not bar.print_button.isVisibleTo(c.window)
    assert not bar.preview.isVisibleTo(c.window)


def test_the_citizens_session_end_forgets_the_document(app: KioskController) -> None:
    c, bar = app, app.window.document_bar
    code = next(i.code for i in c.runtime.items() if i.flow == "tax.invoice_check")
    c.start_item(code)
    c.bridge.post(DocumentReceived("sid-1", "doc-4", "办事指南", "application/pdf", PDF))
    pump(0.05)
    assert bar.document is not None
    c.feed(ev.Press("cancel"))  # the citizen gives up: the session ends and is wiped
    wait_until(lambda: c.engine.session is None, WAIT_S, "the session end")
    assert bar.document is None and not bar.isVisibleTo(c.window)
