"""The root command: families joined under one `secretkeeper`, `--version`, and `--debug` for any command."""

from __future__ import annotations

from secretkeeper import __version__


def commands(help_text: str) -> list[str]:
    return [line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line.strip()]


def test_every_family_is_a_command(run_cli):
    assert commands(run_cli(["--help"]).stdout) == ["scan", "baseline", "rules", "rotate", "status", "put",
                                                      "reseal", "migrate", "tokens", "sync", "deploy"]
    assert commands(run_cli(["rules", "--help"]).stdout) == ["list", "test"]
    assert commands(run_cli(["migrate", "--help"]).stdout) == ["env-to-files", "rollback"]
    assert commands(run_cli(["tokens", "--help"]).stdout) == ["migrate"]
    assert run_cli(["--version"]).stdout == f"secretkeeper {__version__}\n"


def test_debug_before_any_command_adds_a_traceback_and_does_not_stick(run_cli, tmp_path):
    missing = tmp_path / "missing.yaml"
    debug = run_cli(["--debug", "rules", "list", "--config", missing])
    assert debug.code == 2 and debug.exception is None
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert debug.stderr.endswith(f"secretkeeper: error: {missing}: config file not found\n")
    plain = run_cli(["rules", "list", "--config", missing])
    assert plain.code == 2 and plain.exception is None
    assert plain.stderr == f"secretkeeper: error: {missing}: config file not found\n"
    scan_flag = run_cli(["scan", tmp_path / "nope", "--debug"])
    assert scan_flag.code == 2 and "Traceback" in scan_flag.stderr
    assert run_cli(["scan", tmp_path / "nope"]).stderr.count("\n") == 1
