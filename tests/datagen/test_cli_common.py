"""Tests of the command-line conventions every tool shares (:mod:`datagen.cli_common`)."""

from __future__ import annotations

import pytest

from datagen.cli_common import parse_or_exit, rename_deprecated


def test_rename_deprecated_notes_each_old_flag_once(capsys: pytest.CaptureFixture[str]) -> None:
    renames = {"--num-samples": "--num_samples"}
    args = ["--num-samples", "3", "--num-samples=4", "--keep", "--num-samples-x"]
    assert rename_deprecated(args, renames, "prog") == [
        "--num_samples", "3", "--num_samples=4", "--keep", "--num-samples-x"]
    assert capsys.readouterr().err == (
        "note: prog: --num-samples is deprecated; use --num_samples\n")
    assert rename_deprecated(["--num-samples", "1"], renames, "prog", quiet=True)[0] == (
        "--num_samples")
    assert capsys.readouterr().err == ""


def _parser() -> object:
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(prog="tool", exit_on_error=False)
    parser.add_argument("--data.test", type=int, default=0)
    commands = parser.add_subcommands(dest="command")
    run = ArgumentParser(exit_on_error=False)
    run.add_argument("--num_samples", type=int, required=True)
    commands.add_subcommand("run", run)
    return parser


def test_parse_or_exit_one_line_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_or_exit(_parser(), ["run", "--num_samples", "3"], ("run",)).run.num_samples == 3
    with pytest.raises(SystemExit) as exc:
        parse_or_exit(_parser(), ["--data.test", "x", "run", "--num_samples", "1"], ("run",))
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "tool: error: --data.test: expected an integer. Got value: x (see tool --help)\n")
    with pytest.raises(SystemExit):
        parse_or_exit(_parser(), ["run"], ("run",))
    assert capsys.readouterr().err == (
        "tool run: error: the following arguments are required: --num_samples "
        "(see tool run --help)\n")
