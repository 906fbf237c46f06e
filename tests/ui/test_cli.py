"""The command line's help texts."""

from __future__ import annotations

import inspect
import re

import pytest
import typer.main
from typer.testing import CliRunner

from ui import cli

# the commands as Typer names them, with the help each was given (its docstring)
COMMANDS = sorted(typer.main.get_command(cli.app).commands.items())


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_each_commands_help_prints_its_summary_as_written(name, command):
    # Typer reads help as Rich markup, where "[record Qn]" is a style tag and vanishes unless escaped.
    summary = inspect.cleandoc(command.help).split("\n\n")[0].replace("\\[", "[")
    result = CliRunner().invoke(cli.app, [name, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    printed = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", result.output))
    assert re.sub(r"\s+", " ", summary) in printed
