"""The handout's and the role-play plan's commands, in the fast mode of test_workshop_docs.py.

In a file of their own so that pytest-xdist (``--dist loadfile``) runs them beside the
facilitator's guide instead of after it: each document's commands take minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_workshop_docs import DOCS, run_doc_commands


@pytest.mark.parametrize("doc", DOCS[1:], ids=lambda p: p.name)
def test_commands_run_in_fast_mode(doc: Path, tmp_path: Path) -> None:
    run_doc_commands(doc, tmp_path)
