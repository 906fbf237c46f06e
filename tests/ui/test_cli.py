"""The command line: its help texts and how it prints an answer."""

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


def test_a_refusal_prints_what_its_closest_passage_was_asked(capsys):
    from rag.types import Answer, Hit
    from tests.fakes import qa_chunk

    near = qa_chunk(2, "海外渠道建设稳步推进。", question_text="海外[渠道]建设进展如何？")
    other = qa_chunk(3, "分红政策不变。", question_text="分红政策？")
    text = "The indexed records do not cover this question.\nThe closest passage found: [2024-005 Q2]"
    refusal = Answer("q", text, "en", "extractive", [], [Hit(other, 0.03), Hit(near, 0.02)], closest=near.citation)
    cli._print_answer(refusal, with_company=False)
    printed = capsys.readouterr().out
    assert "[2024-005 Q2] was asked: 海外[渠道]建设进展如何？" in printed  # record text printed as it is, not as markup
    assert "分红政策？" not in printed
    cli._print_answer(Answer("q", text, "en", "extractive", [], [Hit(near, 0.02)]), with_company=False)
    assert "was asked" not in capsys.readouterr().out
    cli._print_answer(Answer("q", text, "zh", "extractive", [], [Hit(near, 0.02)], closest=near.citation), False)
    assert "[2024-005 Q2] 的提问：海外[渠道]建设进展如何？" in capsys.readouterr().out  # in the question's language
