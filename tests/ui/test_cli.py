"""The command line's help texts."""

from __future__ import annotations

import inspect
import re

import pytest
from typer.testing import CliRunner

from ui import cli

COMMANDS = [
    (c.name or c.callback.__name__.rstrip("_").replace("_", "-"), c.callback) for c in cli.app.registered_commands
]


@pytest.mark.parametrize(("name", "callback"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_each_commands_help_prints_its_summary_as_written(name, callback):
    # Typer reads help as Rich markup, where "[record Qn]" is a style tag and vanishes unless escaped.
    summary = inspect.getdoc(callback).split("\n\n")[0].replace("\\[", "[")
    result = CliRunner().invoke(cli.app, [name, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    printed = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", result.output))
    assert re.sub(r"\s+", " ", summary) in printed
