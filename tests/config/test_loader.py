"""Layered configuration: precedence, provenance, and one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.migrations import MIGRATIONS, migrate


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_only() -> None:
    loaded = load_settings(environ={})
    assert loaded.settings.platform.url == "http://127.0.0.1:8765"
    assert loaded.provenance["platform.url"] == "built-in defaults"


def test_layers_override_in_order(tmp_path: Path) -> None:
    site = write(tmp_path / "site.toml", 'site = "jinan-lixia"\n[ui]\nlanguage = "en"\n')
    machine = write(
        tmp_path / "machine.toml",
        'kiosk_id = "k-7"\n[ui]\nlanguage = "zh_CN"\n'
        '[devices.idcard]\ndriver = "idcard_sam"\nurl = "/dev/ttyUSB0"\n',
    )
    env = {"KIOSK_KIOSK_ID": "k-8", "KIOSK_DEVICES__IDCARD__URL": "socket://10.0.0.9:4001"}
    loaded = load_settings(
        site_file=site, machine_file=machine, environ=env, overrides=["ui.language=en"]
    )
    s = loaded.settings
    assert s.site == "jinan-lixia"
    assert s.kiosk_id == "k-8"
    assert s.ui.language == "en"
    assert s.devices["idcard"].url == "socket://10.0.0.9:4001"
    assert s.devices["idcard"].driver == "idcard_sam"
    assert loaded.provenance["site"] == str(site)
    assert loaded.provenance["kiosk_id"] == "environment KIOSK_KIOSK_ID"
    assert loaded.provenance["ui.language"] == "command line"


def test_remote_help_audio_devices(tmp_path: Path) -> None:
    rh = load_settings(environ={}).settings.remote_help
    assert (rh.audio, rh.speaker, rh.microphone) == (True, "default", "default")
    machine = write(
        tmp_path / "m.toml", '[remote_help]\nspeaker = "plughw:1,0"\nmicrophone = "hall_mic"\n'
    )
    env = {"KIOSK_REMOTE_HELP__AUDIO": "false"}
    rh = load_settings(machine_file=machine, environ=env).settings.remote_help
    assert (rh.audio, rh.speaker, rh.microphone) == (False, "plughw:1,0", "hall_mic")


def test_env_names_the_files(tmp_path: Path) -> None:
    machine = write(tmp_path / "m.toml", 'kiosk_id = "from-env-file"\n')
    loaded = load_settings(environ={"KIOSK_CONFIG": str(machine)})
    assert loaded.settings.kiosk_id == "from-env-file"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("colour = 1\n", "colour", "unknown key"),
        ('[session]\nidle_timeout_s = "soon"\n', "session.idle_timeout_s", "valid number"),
        (
            '[devices.id]\ndriver = "idcard_sam"\nurl = "COM3"\n',
            "devices.id.url",
            "not a device URL",
        ),
        (
            '[devices.id]\ndriver = "idcard_sam"\nurl = "telnet://x:1"\n',
            "devices.id.url",
            "unknown device URL scheme 'telnet'",
        ),
        (
            '[devices.id]\ndriver = "idcard_sam"\nurl = "socket://host"\n',
            "devices.id.url",
            "names no port",
        ),
        ('[devices.id]\ndriver = "nope"\nurl = "/dev/x"\n', "devices.id.driver", "Input should"),
        ("config_version = 99\n", "config_version", "upgrade the kiosk software"),
        ('[remote_help]\nspeaker = ""\n', "remote_help.speaker", "at least 1 character"),
        ('[remote_help]\naudio = "loud"\n', "remote_help.audio", "valid boolean"),
    ],
)
def test_bad_file_names_file_key_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path / "machine.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(machine_file=path, environ={})
    err = info.value
    assert err.source == str(path)
    assert err.key == key
    assert reason in err.reason
    assert str(path) in str(err) and key in str(err)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(machine_file=tmp_path / "absent.toml", environ={})


def test_bad_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "kiosk_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(machine_file=path, environ={})
    assert info.value.source == str(path)


def test_env_error_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"KIOSK_SESSION__IDLE_TIMEOUT_S": "-5"})
    assert info.value.source == "environment KIOSK_SESSION__IDLE_TIMEOUT_S"
    assert info.value.key == "session.idle_timeout_s"


def test_override_error_names_command_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, overrides=["ui.mode=tablet"])
    assert info.value.source == "command line"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_settings(environ={}, overrides=["ui.mode"])


def test_migration_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(data: dict[str, object]) -> dict[str, object]:
        data["kiosk_id"] = data.pop("terminal_id")
        return data

    monkeypatch.setitem(MIGRATIONS, 0, v0_to_v1)
    assert migrate({"config_version": 0, "terminal_id": "t1"}) == {
        "config_version": 1,
        "kiosk_id": "t1",
    }
    with pytest.raises(ValueError, match="no migration"):
        migrate({"config_version": 1}, current=2)
    with pytest.raises(ValueError, match="non-negative integer"):
        migrate({"config_version": "one"})


def test_ui_hints_come_from_the_raw_layers_and_fall_back_on_bad_values(tmp_path: Path) -> None:
    from config.layers import UiHints, gather_layers, merge_layers, ui_hints
    from config.loader import build

    machine = tmp_path / "machine.toml"
    machine.write_text('[ui]\nlanguage = "en"\nmode = "window"\nfullscreen = false\n')
    layers = gather_layers(
        machine_file=machine,
        environ={"KIOSK_UI__ELDER_MODE_DEFAULT": "Yes"},  # a string, read as pydantic would
        overrides=["ui.mode=kiosk"],
    )
    hints = ui_hints(merge_layers(layers)[0])
    assert hints == UiHints(language="en", mode="kiosk", fullscreen=False, elder=True)
    validated = build(layers).settings.ui
    assert (validated.language, validated.mode, validated.fullscreen) == ("en", "kiosk", False)
    assert validated.elder_mode_default is True
    assert ui_hints({}) == UiHints()
    assert ui_hints({"ui": {"language": "fr", "mode": 3, "fullscreen": "maybe"}}) == UiHints()


def test_the_layers_are_read_without_pydantic() -> None:
    """kiosk run draws its first screen from them before pydantic is imported."""
    import subprocess
    import sys

    code = (
        "import sys, config, config.layers, config.logs\n"
        "config.layers.ui_hints(config.layers.merge_layers(config.layers.gather_layers())[0])\n"
        "assert 'pydantic' not in sys.modules, 'pydantic was imported'\n"
        "from config import Settings\n"
        "assert 'pydantic' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
