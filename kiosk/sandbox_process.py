"""Start the REAL sandbox platform as a subprocess: for ``kiosk demo`` and for the tests.

``start_sandbox()`` enrols a kiosk (``python -m sandbox enrol``), starts ``python -m sandbox
--port 0 --ready-file …`` on a free loopback port with a fresh database, waits until
``GET /api/v1/health`` answers, and returns a :class:`SandboxProcess` with the URL, the
kiosk's id and secret, the admin token and admin helpers (faults, stats, issuing 鲁通码…).
:meth:`SandboxProcess.stop` stops the process by its PID only: SIGTERM, then SIGKILL after
a grace period. ``signed_request`` signs per docs/platform-api.md with its own small
implementation: the kiosk never imports the sandbox package, it only runs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

REPO = Path(__file__).resolve().parent.parent
DEFAULT_KIOSK_ID = "kiosk-test-0001"


class SandboxStartError(RuntimeError):
    """The sandbox process did not come up; the message includes its log tail."""


def fault_rule(
    path: str,
    *,
    method: str | None = None,
    latency_ms: int = 0,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    drop_after_rate: float = 0.0,
) -> dict[str, Any]:
    """One rule for :meth:`SandboxProcess.set_faults` (``path`` is an fnmatch pattern)."""
    return {
        "path": path,
        "method": method,
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "drop_rate": drop_rate,
        "drop_after_rate": drop_after_rate,
    }


def sign_headers(
    kiosk_id: str,
    secret: str,
    method: str,
    url_or_path: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four auth headers for a request (``url_or_path`` may carry the query)."""
    parts = urlsplit(url_or_path)
    pairs = sorted(
        (quote(k, safe="-._~"), quote(v, safe="-._~"))
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    canonical = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            "&".join(f"{k}={v}" for k, v in pairs),
            ts,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    sig = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-Kiosk-Id": kiosk_id, "X-Timestamp": ts, "X-Nonce": nonce, "X-Signature": sig}


@dataclass
class SandboxProcess:
    url: str
    admin_token: str
    kiosk_id: str
    secret: str
    secret_file: Path
    db_path: Path
    pid: int
    log_path: Path
    workdir: Path
    process: subprocess.Popen[bytes]
    _owns_workdir: bool = True
    http: requests.Session = field(default_factory=requests.Session)

    # --- admin helpers -----------------------------------------------------------------

    def admin(self, method: str, path: str, json_body: Any = None) -> Any:
        """Call ``/admin/...``; raise for any non-2xx answer; return the decoded JSON."""
        resp = self.http.request(
            method,
            self.url + path,
            json=json_body,
            headers={"X-Admin-Token": self.admin_token},
            timeout=10,
        )
        if resp.status_code >= 300:
            raise AssertionError(f"admin {method} {path} -> {resp.status_code}: {resp.text}")
        return resp.json() if resp.content else None

    def set_faults(
        self, rules: list[dict[str, Any]] | None = None, *, outage: bool = False
    ) -> dict[str, Any]:
        """Replace the whole fault plan (see :func:`fault_rule`)."""
        result: dict[str, Any] = self.admin(
            "PUT", "/admin/faults", {"rules": rules or [], "outage": outage}
        )
        return result

    def clear_faults(self) -> None:
        self.admin("DELETE", "/admin/faults")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/admin/stats")
        return result

    def cases(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "/admin/cases")
        return result

    def holders(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "/admin/holders")
        return result

    def issue_code(
        self,
        *,
        holder_ref: str | None = None,
        id_number: str | None = None,
        ttl_s: float = 120.0,
    ) -> dict[str, Any]:
        """Issue a 鲁通码 (negative ``ttl_s`` → already expired). Default: the first holder."""
        if holder_ref is None and id_number is None:
            holder_ref = self.holders()[0]["holder_ref"]
        body: dict[str, Any] = {"ttl_s": ttl_s}
        if holder_ref is not None:
            body["holder_ref"] = holder_ref
        else:
            body["id_number"] = id_number
        result: dict[str, Any] = self.admin("POST", "/admin/codes", body)
        return result

    def set_face_score(self, holder_ref: str, score: float | None) -> None:
        self.admin("PUT", f"/admin/holders/{holder_ref}/face", {"score": score})

    def set_case_status(self, case_number: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin(
            "PUT", f"/admin/cases/{case_number}/status", {"status": status}
        )
        return result

    def enrol(self, kiosk_id: str) -> str:
        """Enrol one more kiosk in this sandbox's database; return its secret."""
        path = self.workdir / f"{kiosk_id}.secret"
        _run_enrol(self.db_path, kiosk_id, path)
        return path.read_text().strip()

    # --- signed requests -----------------------------------------------------------------

    def signed_request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        kiosk_id: str | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
        **sign_kw: Any,
    ) -> requests.Response:
        """Send a request signed as this (or another) kiosk. ``path`` may include a query."""
        body = data if data is not None else b""
        hdrs = dict(headers or {})
        if json is not None:
            body = _json.dumps(json, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        hdrs.update(
            sign_headers(
                kiosk_id or self.kiosk_id,
                secret if secret is not None else self.secret,
                method,
                path,
                body,
                **sign_kw,
            )
        )
        return self.http.request(method, self.url + path, data=body, headers=hdrs, timeout=timeout)

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace_s: float = 5.0) -> int:
        """SIGTERM by PID, SIGKILL after ``grace_s``; remove the temp dir. Returns the exit code."""
        code = stop_pid(self.process, grace_s)
        self.http.close()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


_json = json


def stop_pid(process: subprocess.Popen[Any], grace_s: float) -> int:
    """Stop a child by its PID only: SIGTERM, SIGKILL after ``grace_s``; its exit code."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return int(process.returncode)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _run_enrol(db_path: Path, kiosk_id: str, secret_file: Path) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [
            sys.executable,
            "-m",
            "sandbox",
            "enrol",
            "--kiosk-id",
            kiosk_id,
            "--db",
            str(db_path),
            "--secret-file",
            str(secret_file),
        ],
        check=True,
        capture_output=True,
        env=_env(),
        cwd=REPO,
        timeout=60,
    )


def start_sandbox(
    *,
    kiosk_id: str = DEFAULT_KIOSK_ID,
    faults: list[str] | None = None,
    workdir: Path | None = None,
    catalog: Path | None = None,
    admin_token: str | None = None,
    startup_timeout_s: float = 30.0,
    extra_args: list[str] | None = None,
) -> SandboxProcess:
    """Start the sandbox on a free loopback port with a fresh database; wait for health."""
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="sandbox-")) if workdir is None else workdir
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "platform.sqlite3"
    secret_file = work / f"{kiosk_id}.secret"
    ready = work / "ready.json"
    log_path = work / "sandbox.log"
    ready.unlink(missing_ok=True)
    token = admin_token or secrets.token_urlsafe(18)
    _run_enrol(db_path, kiosk_id, secret_file)
    cmd = [
        sys.executable,
        "-m",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--db",
        str(db_path),
        f"--admin-token={token}",  # "=": a token may start with "-"
        "--ready-file",
        str(ready),
        "--log-level",
        "INFO",
    ]
    for spec in faults or []:
        cmd += ["--fault", spec]
    if catalog is not None:
        cmd += ["--catalog", str(catalog)]
    cmd += extra_args or []
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            cmd, stdout=log_file, stderr=subprocess.STDOUT, env=_env(), cwd=REPO
        )
    deadline = time.monotonic() + startup_timeout_s
    try:
        url = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxStartError(
                    f"sandbox exited with {process.returncode}:\n{log_path.read_text()}"
                )
            if url is None and ready.exists():
                url = json.loads(ready.read_text())["url"]
            if url is not None:
                try:
                    # Health answers 503 under an "outage" fault: up all the same.
                    if requests.get(url + "/api/v1/health", timeout=2).status_code in (200, 503):
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        else:
            raise SandboxStartError(f"sandbox not ready in {startup_timeout_s} s")
    except BaseException:
        stop_pid(process, 5.0)
        if owns:
            shutil.rmtree(work, ignore_errors=True)
        raise
    return SandboxProcess(
        url=url,
        admin_token=token,
        kiosk_id=kiosk_id,
        secret=secret_file.read_text().strip(),
        secret_file=secret_file,
        db_path=db_path,
        pid=process.pid,
        log_path=log_path,
        workdir=work,
        process=process,
        _owns_workdir=owns,
    )
