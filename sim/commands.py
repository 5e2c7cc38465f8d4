"""What every ``cpec-sim`` subcommand shares: parse, run, and turn errors into exit codes.

A command is a parser and a *body* taking the parsed arguments and returning an exit code;
:func:`run_command` runs it so that the user sees one line on stderr, never a traceback:

* ``--help``: the help, exit code 0;
* bad arguments (:class:`UsageError`, also raised by :class:`Parser`) or an *expected* error
  (the command's own, e.g. ``StudyError``): ``PROG: error: MESSAGE``, exit code 2;
* the output's reader gone (``cpec-sim compare … | head``): exit code 0 (another broken
  pipe, to a worker process, is an error);
* any other ``OSError`` (permissions, a full disk): ``PROG: error: MESSAGE``, exit code 1;
* Ctrl-C: ``PROG: interrupted``, exit code 130 (also when a library turned it into another
  error: :func:`noting_interrupts`);
* anything else is a bug: ``PROG: internal error: …`` (the traceback with ``CPEC_SIM_DEBUG=1``),
  exit code 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import FrameType
from typing import NoReturn

#: Set to anything but "" or "0" to see the traceback of an internal error.
DEBUG_VARIABLE = "CPEC_SIM_DEBUG"

ErrorTypes = tuple[type[Exception], ...]
#: The errors a command expects (bad input), or a function returning them, for errors whose
#: module is slow to import (called only once an exception has happened).
Expected = ErrorTypes | Callable[[], ErrorTypes]


class UsageError(Exception):
    """Bad command-line input; the message is one line for the user."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def whole_number(text: str) -> int:
    """An argparse type: an integer, or "expected a whole number, got 'TEXT'" (argparse's own
    message is "invalid int value"); the command checks the range."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def a_number(text: str) -> float:
    """An argparse type: a number, or "expected a number, got 'TEXT'"."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped ("" if there is none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print ``PROG: error: MESSAGE`` (one line) on stderr and return ``code``."""
    print(f"{prog}: error: {first_line(message)}", file=sys.stderr)
    return code


def debugging() -> bool:
    """Whether ``CPEC_SIM_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def report_internal_error(prog: str, exc: BaseException) -> int:
    """Report a bug in one line (the traceback with ``CPEC_SIM_DEBUG=1``); return 1."""
    if debugging():
        traceback.print_exception(exc, file=sys.stderr)
    else:
        detail = first_line(str(exc))
        print(
            f"{prog}: internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
            f"(set {DEBUG_VARIABLE}=1 to see the traceback)",
            file=sys.stderr,
        )
    return 1


#: ``[True]`` once Ctrl-C has arrived inside :func:`noting_interrupts` (a list, not a lock:
#: it is set from a signal handler).
_INTERRUPT = [False]


def interrupt_noted() -> bool:
    """Whether Ctrl-C has arrived inside the current :func:`noting_interrupts` block."""
    return _INTERRUPT[0]


#: Set while a ``cpec-sim`` command runs (:func:`a_command`), and so in every process it
#: starts: a sweep's jobs under a launcher of their own (submitit's), their worker processes.
COMMAND_VARIABLE = "CPEC_SIM_COMMAND"


@contextmanager
def a_command() -> Iterator[None]:
    """Inside the block a ``cpec-sim`` command runs (``sim.cli.main``): a worker process
    that dies was not a script's unguarded call (:func:`worker_died`). The mark is an
    environment variable, which the processes the command starts inherit (helper-172: a
    sweep job under the ``local`` launcher was told to guard a script)."""
    before = os.environ.get(COMMAND_VARIABLE)
    os.environ[COMMAND_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(COMMAND_VARIABLE, None)
        else:
            os.environ[COMMAND_VARIABLE] = before


def worker_died(what: str, then: str) -> str:
    """The line for ``what`` (a worker process) having died, ``then`` what to do: under a
    command it was killed (or ran out of memory); called from a script, the likeliest cause
    is a call at the script's top level, which each worker meets again as it imports the
    script, so that advice comes first."""
    if os.environ.get(COMMAND_VARIABLE) == "1":
        return f"{what} died (killed, or out of memory?): {then}"
    return (
        f'{what} died: from a script, put the call under `if __name__ == "__main__":` (else '
        f"each worker meets the call again and stops); otherwise {then}"
    )


@contextmanager
def noting_interrupts() -> Iterator[None]:
    """Inside the block, Ctrl-C is noted as it raises ``KeyboardInterrupt``.

    Some libraries turn a ``KeyboardInterrupt`` into another error (NumPy's import raises an
    ImportError; a module left half imported fails later with an AttributeError) or lose it
    (raised in a garbage-collection callback, it is printed and dropped): a noted Ctrl-C is the
    outcome whatever follows (:func:`guarded`, ``sim.cli.main``). Only on the main thread and
    where Ctrl-C has Python's default handler or is ignored: a process started in the
    background (``cmd &`` in a script) inherits SIGINT ignored, and ``kill -INT`` stops it
    too, from the start (the runner's own handlers would catch it only once its simulations
    start; before, it was lost). The note is forgotten, and the handler restored, when the
    block ends.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous not in (
        signal.default_int_handler,
        signal.SIG_IGN,
    ):
        yield
        return

    def note(signum: int, frame: FrameType | None) -> None:
        _INTERRUPT[0] = True
        signal.default_int_handler(signum, frame)

    _INTERRUPT[0] = False
    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is note:
            signal.signal(signal.SIGINT, previous)
        _INTERRUPT[0] = False


def output_closed() -> bool:
    """Whether the reader of the output has left (``cpec-sim scenarios | head -3``), which
    is then no error (a broken pipe to a worker process is another matter). The output goes
    to /dev/null from here, so that the interpreter's last flush does not fail again
    ("internal error: BrokenPipeError" before)."""
    if not _reader_gone():
        return False
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True


def _reader_gone() -> bool:
    """Whether the output is a pipe whose reading end is closed (poll reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no such file descriptor, or no poll
        return False


def interrupt_taken() -> None:
    """Forget a noted Ctrl-C: the command took it as its normal end (a server stops on it,
    says "Stopped." and exits 0), not as an interruption to report."""
    _INTERRUPT[0] = False


def reraise_interrupt(exc: BaseException) -> None:
    """Raise ``KeyboardInterrupt`` (from ``exc``) if Ctrl-C was noted: then ``exc`` is what a
    library made of it, for the caller's handler to treat as the interrupt, not as bad input."""
    if interrupt_noted():
        raise KeyboardInterrupt from exc


def report_interrupt(prog: str, message: str, exc: BaseException | None = None) -> int:
    """``PROG: MESSAGE`` for a Ctrl-C; with ``CPEC_SIM_DEBUG=1`` also the error a library made
    of it (``exc``). Returns 130."""
    if exc is not None and debugging():
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{prog}: {message}", file=sys.stderr)
    return 130


def _types(expected: Expected) -> ErrorTypes:
    return expected() if callable(expected) else expected


def checked_scenarios() -> None:
    """Every scenario file read and checked (:func:`sim.config.check_scenarios`), a bad one
    of ``$CPEC_SCENARIO_PATH`` raised as a :class:`UsageError`: a server that offers the
    scenarios refuses it before it starts, rather than failing in the page."""
    from sim.config import check_scenarios
    from sim.params import ParameterError

    try:
        check_scenarios()
    except ParameterError as err:
        raise UsageError(str(err)) from None


def guarded(
    prog: str,
    call: Callable[[], int],
    expected: Expected = (),
    interrupted: str = "interrupted",
) -> int:
    """``call()``'s exit code, or the exit code of the error it raised (see the module)."""
    try:
        return int(call())
    except KeyboardInterrupt:
        return report_interrupt(prog, interrupted)
    except Exception as exc:
        # Ctrl-C first, and before naming the expected errors, which may import slow modules
        if interrupt_noted():
            return report_interrupt(prog, interrupted, exc)
        if isinstance(exc, UsageError):
            return fail(prog, str(exc))
        if isinstance(exc, _types(expected)):
            return fail(prog, str(exc) or type(exc).__name__)
        if isinstance(exc, BrokenPipeError) and output_closed():
            return 0
        if isinstance(exc, OSError):
            return fail(prog, str(exc), code=1)
        return report_internal_error(prog, exc)


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    body: Callable[[argparse.Namespace], int],
    expected: Expected = (),
    interrupted: str = "interrupted",
) -> int:
    """Parse ``argv`` and return ``body(args)`` run by :func:`guarded` as ``parser.prog``.

    ``parser`` should be a :class:`Parser`; ``expected`` are the errors that mean bad input
    (exit code 2), ``interrupted`` the message after Ctrl-C.
    """
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except UsageError as exc:
        return fail(parser.prog, str(exc))
    return guarded(parser.prog, lambda: body(args), expected, interrupted)
