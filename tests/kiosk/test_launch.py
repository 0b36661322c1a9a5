"""``kiosk run``: the console script's fast path, the first screen before the validated
settings, systemd notifications, config errors, and a clean stop on SIGTERM."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from config import ExitCode
from kiosk.app.launch import RunOptions
from kiosk.demo_env import DemoEnvironment
from kiosk.entry import run_options
from tests.kiosk.kiosk_process import KioskProcess, child_config


def test_a_plain_run_command_line_takes_the_fast_path() -> None:
    assert run_options(["run"]) == RunOptions()
    root = ["-c", "m.toml", "--site=s.toml", "--set", "ui.language=en", "--set", "a.b=1"]
    assert run_options(
        [*root, "--log-level", "INFO", "run", "--mode", "window", "--windowed"]
    ) == RunOptions(
        config=Path("m.toml"),
        site=Path("s.toml"),
        overrides=["ui.language=en", "a.b=1"],
        log_level="INFO",
        mode="window",
        windowed=True,
    )
    assert run_options(["run", "--windowed", "--no-windowed"]) == RunOptions()
    # the run command's own --config wins over the global one
    assert run_options(["-c", "a.toml", "run", "--config", "b.toml"]) == RunOptions(
        config=Path("b.toml")
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo"],
        ["flows", "run", "x"],  # another command's "run"
        ["run", "--help"],
        ["-h", "run"],
        ["run", "--bogus"],
        ["run", "extra"],
        ["--config", "run"],  # "run" is the option's value; the command is missing
        ["--conf", "m.toml", "run"],  # abbreviations are the full CLI's business
    ],
)
def test_anything_else_goes_to_the_full_cli(argv: list[str]) -> None:
    assert run_options(argv) is None


def _options(command: Any) -> set[str]:
    # typer builds on its own copy of click, so by attribute rather than by class
    options = [p for p in command.params if getattr(p, "param_type_name", "") == "option"]
    return {o for p in options for o in [*p.opts, *p.secondary_opts]}


def test_the_fast_path_knows_exactly_the_options_of_the_full_cli() -> None:
    from kiosk.cli.main import app

    group: Any = typer.main.get_command(app)
    root = _options(group) - {"-h", "--help"}
    run = _options(group.commands["run"]) - {"-h", "--help"}
    assert root == {"--config", "-c", "--site", "--set", "--log-level"}
    assert run == {"--config", "-c", "--mode", "--windowed", "--no-windowed"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoEnvironment, Path]]:
    with DemoEnvironment(tmp_path_factory.mktemp("demo")) as env:
        settings = env.start()
        yield env, child_config(settings, tmp_path_factory.mktemp("kiosk"))


@pytest.fixture
def kiosk_run() -> Iterator[list[KioskProcess]]:
    started: list[KioskProcess] = []
    yield started
    for k in started:
        k.close()


def test_home_screen_first_then_ready_then_a_clean_stop(
    demo: tuple[DemoEnvironment, Path], kiosk_run: list[KioskProcess]
) -> None:
    _env, config = demo
    k = KioskProcess("--config", str(config), "run", "--windowed")
    kiosk_run.append(k)
    home = k.wait_for("STATUS=home screen shown")
    ready = k.wait_for("READY=1")
    assert home < ready
    assert k.stop() == 0, k.stderr()
    assert k.wait_for("STOPPING=1", timeout=5) > ready


def test_an_invalid_setting_closes_the_app_with_the_config_error(
    demo: tuple[DemoEnvironment, Path], kiosk_run: list[KioskProcess], tmp_path: Path
) -> None:
    _env, config = demo
    k = KioskProcess("--config", str(config), "--set", "ui.mode=tablet", "run", "--windowed")
    kiosk_run.append(k)
    k.wait_for("STATUS=home screen shown")  # drawn from the hints (an unknown mode: kiosk)
    assert k.proc.wait(60) == ExitCode.CONFIG_ERROR
    assert "config error: command line: ui.mode:" in k.stderr()
    assert all(m != "READY=1" for _, m in k.messages)


def test_a_missing_config_file_is_refused_before_any_window(
    kiosk_run: list[KioskProcess], tmp_path: Path
) -> None:
    k = KioskProcess("run", "--config", str(tmp_path / "absent.toml"))
    kiosk_run.append(k)
    assert k.proc.wait(60) == ExitCode.CONFIG_ERROR
    assert f"config error: {tmp_path / 'absent.toml'}: file not found" in k.stderr()
    with pytest.raises(RuntimeError):
        k.wait_for("STATUS=home screen shown", timeout=1)


def test_nothing_slow_is_imported_before_the_first_screen() -> None:
    """What kiosk.entry and run_kiosk import up to controller.start(): no pydantic, typer,
    rich, flow engine, device layer or HTTP client (each would delay the first screen)."""
    code = (
        "import sys\n"
        "import kiosk.entry, kiosk.app.launch, kiosk.app.qt_setup, kiosk.app.shell\n"
        "import kiosk.app.tts, config.layers, flows.shipped\n"
        "slow = {'pydantic', 'typer', 'rich', 'flows.engine', 'flows.events',\n"
        "        'flows.catalogue', 'devices.base', 'requests', 'numpy'}\n"
        "print(sorted(slow & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


def test_help_and_usage_errors_come_from_the_full_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.entry import main

    assert main(["run", "--help"]) == 0
    assert "--windowed" in capsys.readouterr().out
    assert main(["run", "--bogus"]) == ExitCode.USAGE
