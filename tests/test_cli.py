"""The command's shared behaviour: one clear line and exit code 2 on bad arguments, never a traceback."""

import subprocess
import sys

import pytest

from interestyle.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["invert", "--batch-size", "0", "x.png", "-m", "m", "-o", "out"], "--batch-size"),
        (["edit"], "the following arguments are required"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_no_command_prints_help_and_exits_2():
    proc = subprocess.run([sys.executable, "-m", "interestyle"], capture_output=True, text=True)
    assert proc.returncode == 2 and "COMMAND" in proc.stderr


def test_user_errors_from_the_api_are_one_line(tmp_path, capsys):
    code = main(
        ["invert", str(tmp_path / "missing.png"), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
