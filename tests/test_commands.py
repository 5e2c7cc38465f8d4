"""The scaffolding every subcommand shares: one line on stderr and the right exit code."""

from __future__ import annotations

import argparse
import gc
import signal
import time
from collections.abc import Callable

import pytest

from sim.commands import (
    DEBUG_VARIABLE,
    Parser,
    UsageError,
    first_line,
    guarded,
    noting_interrupts,
    report_internal_error,
    reraise_interrupt,
    run_command,
)
from sim.refcounts import ENV as PLAIN_REFCOUNTS

PROG = "cpec-sim demo"


class DemoError(ValueError):
    """The demo command's own error: bad input."""


def demo_parser() -> Parser:
    parser = Parser(prog=PROG, description="A command for the tests.")
    parser.add_argument("--count", type=int, default=1)
    return parser


def demo(argv: list[str], problem: BaseException | None = None) -> int:
    """Run the demo command; its body raises ``problem`` if given, else prints and returns 0."""

    def body(args: argparse.Namespace) -> int:
        if problem is not None:
            raise problem
        print(f"count {args.count}")
        return 0

    return run_command(demo_parser(), argv, body, expected=(DemoError,))


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_the_body_runs_with_the_parsed_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo(["--count", "3"]) == 0
    assert capsys.readouterr().out == "count 3\n"


def test_help_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo(["--help"]) == 0
    assert "--count" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [(["--colour", "red"], "unrecognized arguments"), (["--count", "many"], "--count")],
)
def test_a_usage_error_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo(argv) == 2
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: error: ") and fragment in err and f"{PROG} --help" in err


def test_a_usage_error_found_by_the_body_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo([], UsageError("give --a or --b, not both")) == 2
    assert one_line(capsys) == f"{PROG}: error: give --a or --b, not both\n"


def test_an_expected_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo([], DemoError("no such study 'x'\nmore detail")) == 2
    assert one_line(capsys) == f"{PROG}: error: no such study 'x'\n"


def test_an_os_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo([], PermissionError("cannot write out/x.csv")) == 1
    assert one_line(capsys) == f"{PROG}: error: cannot write out/x.csv\n"


def test_a_broken_pipe_is_quiet_and_exit_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output's reader left (`cpec-sim ... | head`): the output is a pipe whose reading
    end is closed."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as gone:
        monkeypatch.setattr("sys.stdout", gone)
        assert demo([], BrokenPipeError()) == 0
        monkeypatch.undo()
    assert capsys.readouterr().err == ""


def test_ctrl_c_is_one_line_and_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo([], KeyboardInterrupt()) == 130
    assert one_line(capsys) == f"{PROG}: interrupted\n"
    assert guarded(PROG, _interrupt, interrupted="interrupted; run it again") == 130
    assert one_line(capsys) == f"{PROG}: interrupted; run it again\n"


def _interrupt() -> int:
    raise KeyboardInterrupt


def test_a_bug_is_one_line_without_a_traceback_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    assert demo([], KeyError("weeks")) == 1
    err = one_line(capsys)
    assert err.startswith(f"{PROG}: internal error: KeyError: 'weeks'")
    assert f"set {DEBUG_VARIABLE}=1 to see the traceback" in err


@pytest.mark.parametrize("value", ["", "0"])
def test_debug_off_values_keep_the_one_line(
    value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEBUG_VARIABLE, value)
    assert demo([], ZeroDivisionError("division by zero")) == 1
    assert "internal error: ZeroDivisionError: division by zero" in one_line(capsys)


def test_with_debug_the_traceback_is_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEBUG_VARIABLE, "1")
    assert demo([], ZeroDivisionError("division by zero")) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "in body" in err and err.rstrip().endswith("ZeroDivisionError: division by zero")


def test_an_expected_error_type_can_be_imported_lazily(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body(args: argparse.Namespace) -> int:
        raise DemoError("bad input")

    assert run_command(demo_parser(), [], body, expected=lambda: (DemoError,)) == 2
    assert one_line(capsys) == f"{PROG}: error: bad input\n"


def test_report_internal_error_without_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    assert report_internal_error("cpec-sim", AssertionError()) == 1
    assert one_line(capsys).startswith("cpec-sim: internal error: AssertionError (set ")


def test_first_line() -> None:
    assert first_line("\n  one \ntwo") == "one"
    assert first_line("") == ""


def _ctrl_c_turned_into(error: Exception) -> int:
    """A body in which Ctrl-C arrives inside a library that turns it into ``error`` (NumPy's
    import raises an ImportError)."""
    try:
        signal.raise_signal(signal.SIGINT)
        time.sleep(1)  # the handler raises before this ends
    except KeyboardInterrupt:
        raise error from None
    return 0


def test_ctrl_c_turned_into_another_error_by_a_library_is_still_the_interrupt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with noting_interrupts():
            code = guarded(PROG, lambda: _ctrl_c_turned_into(ImportError("numpy failed")))
            assert code == 130
            assert capsys.readouterr().err == f"{PROG}: interrupted\n"
            # also an error that would be bad input: it is what the interrupt became
            assert guarded(PROG, lambda: _ctrl_c_turned_into(UsageError("x")), ()) == 130
            with pytest.raises(KeyboardInterrupt):
                reraise_interrupt(ImportError("numpy failed"))
        # the end of the block forgets the Ctrl-C, and so does a new block
        assert guarded(PROG, _raise(ImportError("numpy failed"))) == 1
        with noting_interrupts():
            assert guarded(PROG, _raise(ImportError("numpy failed"))) == 1
        assert capsys.readouterr().err.count("internal error: ImportError: numpy failed") == 2
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def _raise(error: Exception) -> Callable[[], int]:
    def body() -> int:
        raise error

    return body


def test_ctrl_c_does_not_wait_for_the_expected_errors_to_be_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Naming a command's expected errors may import slow modules (pyabc: ~2 s): Ctrl-C is
    reported without naming them."""
    named: list[bool] = []

    def expected() -> tuple[type[Exception], ...]:
        named.append(True)
        return (DemoError,)

    def body() -> int:
        raise KeyboardInterrupt

    assert guarded(PROG, body, expected) == 130
    assert named == []
    assert guarded(PROG, _raise(DemoError("bad")), expected) == 2
    assert named == [True]


def test_a_ctrl_c_that_a_library_dropped_ends_the_command_as_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raised in a garbage-collection callback, KeyboardInterrupt is printed and dropped, and
    the command ran to its end: it still ends as interrupted (re-running it resumes)."""
    import sim.cli

    def command(args: list[str], code: int = 0) -> int:
        try:
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # dropped
        return code

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        monkeypatch.setitem(sim.cli.COMMANDS, "demo", command)
        assert sim.cli.main(["demo"]) == 130
        assert "interrupted" in capsys.readouterr().err
        # or turned into an error exit of the library's (Hydra's: a reviewer's exit 1)
        monkeypatch.setitem(sim.cli.COMMANDS, "demo", lambda args: command(args, 1))
        assert sim.cli.main(["demo"]) == 130
        assert "interrupted" in capsys.readouterr().err
        monkeypatch.setitem(sim.cli.COMMANDS, "demo", lambda args: 0)
        assert sim.cli.main(["demo"]) == 0
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_broken_pipe_that_is_not_the_output_is_an_error(capsys) -> None:
    """Only a reader of the output that left (`| head`) ends a command quietly with 0; a broken
    pipe to a worker process must not pass for success."""

    def worker_pipe_broke() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert guarded("prog", worker_pipe_broke) == 1
    assert "Broken pipe" in capsys.readouterr().err


def test_a_ctrl_c_after_the_command_finished_does_not_kill_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reviewer's Ctrl-C while a finished run's interpreter shut down (its workers' server,
    atexit) killed the process by the signal: a script saw a finished run as interrupted."""
    import sim.cli
    from sim.console import entry

    monkeypatch.setattr(sim.cli, "main", lambda: 0)
    monkeypatch.setenv(PLAIN_REFCOUNTS, "1")  # what entry() sets: undone after the test
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    terminate = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as ended:
            entry()
        assert ended.value.code == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # for the shutdown
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, terminate)
        gc.unfreeze()


def test_sigterm_stops_a_command_as_ctrl_c_does_wherever_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """reliability.md's known gap: SIGTERM ended ``plot``, ``compare``, ``report`` and a run
    drawing its figures with exit 143 and no word; the console script now makes it a stop
    request, as Ctrl-C is (one line, 130), outside a run's replicates as inside them."""
    import os

    from sim.console import terminate_as_interrupt

    terminate = signal.getsignal(signal.SIGTERM)
    try:
        terminate_as_interrupt()

        def drawing() -> int:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal's handler raises before this ends
            return 0

        started = time.monotonic()
        assert guarded(PROG, drawing, interrupted="interrupted (nothing is lost)") == 130
        assert time.monotonic() - started < 4
        assert capsys.readouterr().err == f"{PROG}: interrupted (nothing is lost)\n"
    finally:
        signal.signal(signal.SIGTERM, terminate)


def test_a_killed_command_line_says_so_in_one_line() -> None:
    """The console script itself, in its own process: SIGTERM while the command works is
    one line and 130 (it was the signal's silent 143)."""
    import subprocess
    import sys

    script = (
        "import time, sim.cli\n"
        "def main():\n"
        "    print('working', flush=True)\n"
        "    time.sleep(30)\n"
        "    return 0\n"
        "sim.cli.main = main\n"
        "from sim.console import entry\n"
        "entry()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "working\n"
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, (proc.returncode, err)
    assert err == "cpec-sim: interrupted (re-run the same command to resume)\n"


def test_a_finished_command_spares_the_interpreters_last_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The objects alive as the command ends are frozen, so the interpreter's last garbage
    collection does not visit them (``sim.console.leave_garbage_to_the_system``)."""
    import sim.cli
    from sim.console import entry

    monkeypatch.setattr(sim.cli, "main", lambda: 3)
    monkeypatch.setenv(PLAIN_REFCOUNTS, "1")  # what entry() sets: undone after the test
    previous = signal.getsignal(signal.SIGINT)
    terminate = signal.getsignal(signal.SIGTERM)
    frozen = gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit) as ended:
            entry()
        assert ended.value.code == 3
        assert gc.get_freeze_count() > frozen + 1_000
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, terminate)
        gc.unfreeze()


def test_a_worker_that_died_is_one_line_saying_what_to_do_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A worker killed while drawing (helper-170: `cpec-sim plot` printed "internal error"
    and, after a first fix, told a command-line user to guard a script; helper-171: a
    script's user was told first to re-run what would fail again)."""
    from sim.commands import a_command, worker_died
    from sim.workers import drawing_worker_died

    with a_command():
        assert demo([], drawing_worker_died()) == 1
    err = one_line(capsys)
    assert err == (
        f"{PROG}: error: a drawing worker process died (killed, or out of memory?): try again "
        "(nothing was written)\n"
    )
    from_a_script = worker_died("a worker process", "re-run the same command to resume")
    assert from_a_script == (
        'a worker process died: from a script, put the call under `if __name__ == "__main__":` '
        "(else each worker meets the call again and stops); otherwise re-run the same command "
        "to resume"
    )
    assert isinstance(drawing_worker_died(), OSError)
    # the processes a command starts know it too (helper-172: a sweep job under submitit's
    # launcher, another process, gave a script's advice)
    import subprocess
    import sys

    said = "from sim.commands import worker_died; print(worker_died('w', 'again'))"
    with a_command():
        child = subprocess.run([sys.executable, "-c", said], capture_output=True, text=True)
    assert child.stdout == "w died (killed, or out of memory?): again\n", child.stderr
    assert worker_died("w", "again").startswith("w died: from a script")  # and after it
