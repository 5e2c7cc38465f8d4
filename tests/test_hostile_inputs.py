"""Hostile `cpec-sim run` command lines (issue 15): a seeded fuzz of 1,000 lines in-process,
plus a fixed sample through the real CLI.

Every line is valid or invalid by construction (tests/hostile.py). A valid line must be
accepted; an invalid one must get one line on stderr and exit 2; nothing may raise, hang or
write outside the run directory.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import hostile
from tests.hostile import (
    KINDS,
    NOT_IN_CLI_SAMPLE,
    Case,
    Watch,
    cli_sample,
    escape_targets,
    files_under,
    in_process_lines,
    judge,
    judge_cli,
    run_cli,
    run_in_process,
    stray_files,
    with_fast,
)

N_LINES = 1_000
SEED = 15
TAG = f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
def remove_escape_targets() -> Iterator[None]:
    """Remove anything named like this module's escape targets (a broken CLI makes them)."""
    yield
    for path in escape_targets(TAG):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()


def listing_of(problems: list[tuple[Case, str]]) -> str:
    """One line per problem, counts by kind first."""
    counts = Counter(case.kind for case, _ in problems)
    head = ", ".join(f"{kind} {n}" for kind, n in counts.most_common())
    rows = [f"  [{c.kind}] {c.line[:110]}  ->  {got[:170]}" for c, got in problems]
    return f"{len(problems)} lines wrong ({head}):\n" + "\n".join(sorted(rows))


def test_generator_is_seeded_and_mixes_valid_and_invalid() -> None:
    a, b = in_process_lines(300, SEED, TAG), in_process_lines(300, SEED, TAG)
    assert [c.args for c in a] == [c.args for c in b]
    assert 0.25 < sum(c.valid for c in a) / len(a) < 0.6
    assert not any(c.cli_only for c in a)


def test_limits_match_the_declared_ones() -> None:
    import sim.config as declared

    for name in ("MAX_REPLICATES", "MAX_WEEKS", "MAX_SWEEP_JOBS", "MAX_JOBS", "MAX_SEED"):
        if hasattr(declared, name):
            assert getattr(hostile, name) == getattr(declared, name), name


def test_cli_sample_covers_every_kind() -> None:
    covered = {c.kind for c in cli_sample(TAG)}
    assert set(KINDS) - set(NOT_IN_CLI_SAMPLE) <= covered


def test_a_thousand_hostile_lines_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prevalidate: no exception, no hang, invalid -> one-line error, valid -> none."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    watch = Watch(TAG).start()
    cases = in_process_lines(N_LINES, SEED, TAG)
    start = time.perf_counter()
    problems = []
    for case in cases:
        got = judge(case, run_in_process(case))
        if got:
            problems.append((case, got))
    seconds = time.perf_counter() - start
    written = sorted(files_under(tmp_path) - {"home"})
    problems += [(Case([], False, "writes"), f"wrote {p}") for p in written + watch.new()]
    print(f"{len(cases)} lines in {seconds:.0f} s")
    if problems:
        pytest.fail(listing_of(problems), pytrace=False)


def _case_id(case: Case) -> str:
    """The same id in every pytest-xdist worker (the run's unique tag left out)."""
    return f"{case.kind}:{case.line.replace(TAG, 'TAG')[:60]}"


@pytest.mark.parametrize("case", cli_sample(TAG), ids=_case_id)
def test_hostile_line_through_the_cli(case: Case, tmp_path: Path) -> None:
    """The real CLI: exit 0 for valid; exit 2 and one stderr line for invalid; no traceback,
    no hang, nothing written outside the run directory (nothing at all for invalid)."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    watch = Watch(TAG).start()
    out = run_cli(with_fast(case), cwd, home)
    strays = stray_files(case, files_under(cwd))
    strays += [p for p in sorted(files_under(tmp_path)) if p.split("/")[0] not in ("cwd", "home")]
    problems = judge_cli(case, out, strays, watch.new())
    if problems:
        tail = "\n".join(out.stderr.strip().splitlines()[-12:])
        pytest.fail(f"{case.line}: {'; '.join(problems)}\nstderr (end):\n{tail}", pytrace=False)
