"""docs/security-groups.md is the generated table of every rule of every committed stack."""

from __future__ import annotations

import subprocess
import sys

from components.iaas.rules_doc import committed_inputs, markdown
from components.iaas.rules_table import rules
from tests.harness import ROOT

DOC = ROOT / "docs" / "security-groups.md"
REGENERATE = "python -m components.iaas.rules_doc --markdown > docs/security-groups.md"


def test_committed_doc_equals_the_generated_one():
    assert DOC.read_text() == markdown(committed_inputs()), f"docs/security-groups.md is stale: run {REGENERATE}"


def test_the_documented_command_prints_the_doc():
    result = subprocess.run(
        [sys.executable, "-m", "components.iaas.rules_doc", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == DOC.read_text()


def test_every_rule_of_every_stack_has_a_row():
    text = DOC.read_text()
    for stack, inputs in committed_inputs().items():
        section = text.split(f"## {stack}\n", 1)[1].split("\n## ", 1)[0]
        for rule in rules(inputs):
            assert f"| `{rule.name}` | `{rule.group}` |" in section, (stack, rule.name)
