"""The virtual A4 printer (a directory of PDFs): jobs, faults, missing directory."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from devices.a4.pdf_dir import PdfDirectoryPrinter, directory_of
from devices.base import DeviceState
from devices.errors import DeviceError, DeviceNotFoundError
from printing import documents
from printing.document import Document


def page() -> Document:
    return documents.test_page(kiosk_id="kiosk-t-01", printed_at=datetime(2026, 11, 28, 10, 0))


def test_jobs_are_pdf_files_with_the_chinese_text(tmp_path: Path) -> None:
    printer = PdfDirectoryPrinter("a4", f"file://{tmp_path}", options={"poll_interval": 0.05})
    try:
        result = printer.print_document(page()).wait(30)
        assert result["printed"] is True and result["job"] == 1
        printer.print_document(page()).wait(30)
        jobs = printer.jobs()
        assert [p.name for p in jobs] == ["job-0001.pdf", "job-0002.pdf"]
        assert jobs[0].read_bytes().startswith(b"%PDF")
        text = subprocess.run(
            ["pdftotext", str(jobs[0]), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "测试" in text
        assert not list(tmp_path.glob("*.tmp"))
    finally:
        printer.stop()


def test_paper_out_marker_refuses_jobs_and_sets_user_error(tmp_path: Path) -> None:
    printer = PdfDirectoryPrinter("a4", f"file://{tmp_path}", options={"poll_interval": 0.05})
    try:
        (tmp_path / "PAPER_OUT").touch()
        with pytest.raises(DeviceError) as info:
            printer.print_document(page()).wait(30)
        assert info.value.code == "paper_out"
        assert printer.status.state == DeviceState.USER_ERROR
        assert printer.status.detail["paper"] == "out"
        assert printer.jobs() == []
        (tmp_path / "PAPER_OUT").unlink()
        assert printer.print_document(page()).wait(30)["job"] == 1
        assert printer.status.usable
    finally:
        printer.stop()


def test_missing_directory_is_no_device(tmp_path: Path) -> None:
    printer = PdfDirectoryPrinter("a4", f"file://{tmp_path / 'absent'}")
    try:
        with pytest.raises(DeviceNotFoundError):
            printer.print_document(page()).wait(30)
        assert printer.status.state == DeviceState.NO_DEVICE
    finally:
        printer.stop()


def test_url_must_be_a_file_url() -> None:
    with pytest.raises(DeviceError, match="file:///DIR"):
        directory_of("socket://host:1")
