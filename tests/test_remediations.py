"""Every secretkeeper command a remediation tells users to run exists: each `secretkeeper <command>
[<subcommand>]` named in a rule's or a hygiene rule's remediation answers `--help`."""

from __future__ import annotations

import re

import pytest

from secretkeeper.hygiene import HYGIENE_RULES
from secretkeeper.rules import load_builtin_rules

_QUOTED = re.compile(r"`secretkeeper ([^`]*)`")
_WORD = re.compile(r"[a-z][a-z-]*")
# Named by remediations but built by a later issue: strict xfails, so this list shrinks the day a command
# lands.
NOT_YET: dict[tuple[str, ...], str] = {}


def named_commands() -> dict[tuple[str, ...], list[str]]:
    """(command words) -> ids of the rules whose remediation names them."""
    found: dict[tuple[str, ...], list[str]] = {}
    rules = [(r.id, r.remediation) for r in load_builtin_rules()] + [(h.id, h.remediation) for h in HYGIENE_RULES]
    for rule_id, text in rules:
        for quoted in _QUOTED.findall(text):
            words = []
            for token in quoted.split()[:2]:
                if not _WORD.fullmatch(token):
                    break
                words.append(token)
            found.setdefault(tuple(words), []).append(rule_id)
    return found


COMMANDS = named_commands()


def test_remediations_name_commands_at_all():
    assert ("rotate",) in COMMANDS and ("scan",) in COMMANDS


@pytest.mark.parametrize("words", [
    pytest.param(words, id=" ".join(words),
                 marks=[pytest.mark.xfail(strict=True, reason=NOT_YET[words])] if words in NOT_YET else [])
    for words in sorted(COMMANDS)
])
def test_each_command_a_remediation_names_answers_help(run_cli, words):
    res = run_cli([*words, "--help"])
    assert res.code == 0, f"`secretkeeper {' '.join(words)}` (named by {COMMANDS[words]}): {res.output}"
    assert "Usage: secretkeeper" in res.stdout
