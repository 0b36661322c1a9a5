"""The demo environment: the sandbox platform and emulated devices, wired into settings.

:class:`DemoEnvironment` starts the REAL sandbox platform as a process on loopback, an
emulated ID-card reader and code scanner (in-process, reached through ``sim://`` URLs exactly
as drivers reach hardware), a virtual ESC/POS receipt printer on a TCP port (its jobs are
written as JSON + PNG), a document camera (高拍仪) whose platen is an image file with a
synthetic sample page on it (:mod:`devices.document_camera.emulator`), optionally a face
camera emulated by an image or video file, and returns :class:`config.Settings` pointing
the kiosk at all of them. Its methods are the levers of the developer panel and of the
end-to-end tests: place or lift a card, scan a code, place or remove the paper on the
document camera, paper low/out, unplug/replug a device, cut/restore the network.

No Qt here (the panel that drives it lives in ``kiosk.app.devpanel``). Every process it
starts is stopped by PID in :meth:`stop`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from config.schema import Settings
from devices.document_camera.emulator import PlatenEmulator
from devices.idcard.emulator import SamReaderEmulator, SimPort, load_card
from devices.idcard.model import IdCard, card_from_json
from devices.receipt.emulator import VirtualPrinter
from devices.scanner.emulator import ScannerEmulator
from devices.sim import SimUnpluggedError, register_instance, unregister_instance
from kiosk.sandbox_process import SandboxProcess, start_sandbox

log = logging.getLogger(__name__)

#: The demo's default citizen: a parent with a birth certificate among her e-licences.
DEFAULT_HOLDER = "王晓燕"
CARDS_DIR = Path(__file__).resolve().parent.parent / "devices" / "idcard" / "cards"


class DemoEnvironment:
    """See the module docstring. Use as a context manager or call :meth:`stop`."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        kiosk_id: str = "kiosk-demo-0001",
        camera: Path | None = None,
    ) -> None:
        self._owns = workdir is None
        #: An image, video or image directory the face camera plays (none: no camera).
        self.camera = camera
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="quanban-demo-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kiosk_id = kiosk_id
        self.sandbox: SandboxProcess | None = None
        self.settings: Settings | None = None
        self.reader = SamReaderEmulator(None)
        self.reader_port = SimPort(self.reader)
        self.scanner: ScannerEmulator = ScannerEmulator(trigger="honeywell")
        self._scanner_plugged = True
        self.printer_dir = self.workdir / "prints"
        self.a4_dir = self.workdir / "a4"
        self.a4_dir.mkdir(exist_ok=True)
        self.printer = VirtualPrinter(self.printer_dir)
        self.printer_addr: tuple[str, int] | None = None
        #: The document camera's platen, with the sample page on it.
        self.document_camera = PlatenEmulator(
            self.workdir / "doccam" / "platen.png", font=_cjk_font()
        )
        self._names: list[str] = []
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Settings:
        self.sandbox = start_sandbox(kiosk_id=self.kiosk_id, workdir=self.workdir / "platform")
        tag = f"demo-{id(self):x}"
        idcard_url = self.reader_port.register(f"{tag}-idcard")
        self._names.append(f"{tag}-idcard")
        register_instance(f"{tag}-scanner", self._connect_scanner)
        self._names.append(f"{tag}-scanner")
        self.printer_addr = self.printer.serve_tcp("127.0.0.1", 0)
        host, port = self.printer_addr
        cameras: dict[str, Any] = {}
        if self.camera is not None:
            cameras["camera"] = {
                "driver": "camera",
                "url": str(self.camera),
                "options": {"loop": True},
            }
        self.settings = Settings.model_validate(
            {
                "kiosk_id": self.kiosk_id,
                "site": "demo",
                "devices": {
                    "idcard": {
                        "driver": "idcard_sam",
                        "url": idcard_url,
                        "options": {"poll_interval": 0.3},
                    },
                    "scanner": {
                        "driver": "scanner_serial",
                        "url": f"sim://scanner?instance={tag}-scanner",
                        "options": {"trigger": "honeywell"},
                    },
                    "a4_printer": {
                        "driver": "a4_pdf_dir",
                        "url": f"file://{self.a4_dir}",
                        "options": {"poll_interval": 1.0},
                    },
                    "receipt_printer": {
                        "driver": "receipt_escpos",
                        "url": f"socket://{host}:{port}",
                        "options": {"poll_interval": 2.0},
                    },
                    "document_camera": {
                        "driver": "document_camera",
                        "url": self.document_camera.url,
                        "options": {"settle_s": 0.3, "burst": 3, "drop_frames": 1},
                    },
                    **cameras,
                },
                "platform": {
                    "url": self.sandbox.url,
                    "kiosk_id": self.kiosk_id,
                    "secret_file": str(self.sandbox.secret_file),
                    "timeout_s": 5.0,
                    "probe_interval_s": 1.0,
                    "heartbeat_s": 2.0,
                },
                "outbox": {
                    "path": str(self.workdir / "kiosk" / "outbox.sqlite3"),
                    "key_file": str(self.workdir / "kiosk" / "outbox.key"),
                },
                "logging": {"dir": str(self.workdir / "log")},
            }
        )
        return self.settings

    def stop(self) -> None:
        for name in self._names:
            unregister_instance(name)
        self._names.clear()
        self.printer.close()
        self.document_camera.close()
        self.scanner.close()
        self.reader.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self._owns:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> DemoEnvironment:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- ID card -----------------------------------------------------------------------

    @staticmethod
    def card_files() -> list[Path]:
        return sorted(CARDS_DIR.glob("*.json"))

    def holders(self) -> list[dict[str, Any]]:
        """The platform's synthetic citizens (with e-licences and benefits)."""
        assert self.sandbox is not None
        return self.sandbox.holders()

    @staticmethod
    def holder_card(holder: dict[str, Any]) -> IdCard:
        """A resident ID card for one of the platform's synthetic holders."""
        return card_from_json(
            {
                "card_type": "resident",
                "name": holder["name"],
                "gender_code": "2" if holder.get("gender") in ("女", "2", "F") else "1",
                "nation_code": "01",
                "birth": holder["birth"],
                "address": holder["address"],
                "id_number": holder["id_number"],
                "issuer": "济南市公安局",
                "valid_from": "2020-01-01",
                "valid_to": "2040-01-01",
                "photo_seed": holder["holder_ref"],
            }
        )

    def place_card(self, card: Path | IdCard | str | None = None) -> IdCard:
        """Put a card on the reader: an IdCard, a card file, a holder's ID number, or (by
        default) the card of the platform's holder who has the most e-licences."""
        if isinstance(card, IdCard):
            chosen = card
        elif isinstance(card, Path):
            chosen = load_card(card)
        else:
            holders = self.holders()
            if card:
                match = [h for h in holders if h["id_number"] == card]
            else:
                match = [h for h in holders if h["name"] == DEFAULT_HOLDER] or holders[:1]
            if not match:
                raise ValueError("no such holder on the platform")
            chosen = self.holder_card(match[0])
        self.reader.place(chosen)
        return chosen

    def lift_card(self) -> None:
        self.reader.lift()

    # -- scanner -----------------------------------------------------------------------

    def _connect_scanner(self) -> ScannerEmulator:
        with self._lock:
            if not self._scanner_plugged:
                raise SimUnpluggedError("the emulated scanner is unplugged")
            return self.scanner

    def scan(self, payload: str | bytes) -> None:
        self.scanner.present(payload)

    def issue_lutong_code(self, *, ttl_s: float = 120.0, id_number: str | None = None) -> str:
        assert self.sandbox is not None
        answer = self.sandbox.issue_code(id_number=id_number, ttl_s=ttl_s)
        return str(answer["code"])

    # -- document camera ---------------------------------------------------------------

    def place_document(self) -> None:
        """Lay the sample page on the document camera."""
        self.document_camera.place()

    def remove_document(self) -> None:
        """Take the page away: the camera sees the empty mat (a blank frame)."""
        self.document_camera.remove()

    def document_fault(self, name: str, on: bool = True) -> None:
        """``dark`` (lens covered) / ``blur`` (the page moved)."""
        self.document_camera.set_fault(name, on)

    # -- printer -----------------------------------------------------------------------

    def printer_fault(self, name: str, on: bool = True) -> None:
        """``paper_near_end`` / ``paper_out`` / ``cover_open`` / ``offline`` / ``cutter_error``."""
        self.printer.set_fault(name, on)

    def printed_jobs(self) -> list[Path]:
        return sorted(self.printer_dir.glob("job-*.json"))

    # -- unplug / replug ---------------------------------------------------------------

    def unplug(self, role: str) -> None:
        if role == "idcard":
            self.reader_port.unplug()
        elif role == "scanner":
            with self._lock:
                self._scanner_plugged = False
            self.scanner.unplug()
        elif role == "receipt_printer":
            self.printer.close()
        elif role == "document_camera":
            self.document_camera.unplug()
        else:
            raise ValueError(f"no emulated device {role!r}")

    def replug(self, role: str) -> None:
        if role == "idcard":
            self.reader_port.replug()
        elif role == "scanner":
            with self._lock:
                self.scanner = ScannerEmulator(trigger="honeywell")
                self._scanner_plugged = True
        elif role == "receipt_printer":
            assert self.printer_addr is not None
            faults = self.printer.faults
            self.printer = VirtualPrinter(self.printer_dir, faults=faults)
            self.printer.serve_tcp(*self.printer_addr)
        elif role == "document_camera":
            self.document_camera.replug()
        else:
            raise ValueError(f"no emulated device {role!r}")

    # -- network -----------------------------------------------------------------------

    def cut_network(self) -> None:
        """Full outage of the platform (every /api/v1 call answers 503)."""
        assert self.sandbox is not None
        self.sandbox.set_faults(outage=True)

    def restore_network(self) -> None:
        assert self.sandbox is not None
        self.sandbox.clear_faults()

    def stats(self) -> dict[str, Any]:
        assert self.sandbox is not None
        return self.sandbox.stats()


def _cjk_font() -> Path | None:
    """The CJK font the PDFs use, for the sample page's text (rules without one)."""
    from printing.pdf import FontMissingError, font_path

    try:
        return font_path()
    except FontMissingError:
        log.warning("no CJK font: the sample page on the document camera has no text")
        return None
