"""One error policy and one log stream for every command.

Every command of the project, ``pssnmf predict`` and the workflow's stages
(``python -m pssnmf.data``, ``pssnmf.experiment``, ``pssnmf.figures``, ``pssnmf.opportunity``), runs
through :func:`run`:

- **Bad input** (the error types of :data:`BAD_INPUT`: a file that is missing, unreadable or not in
  the format it should be, an option or value out of range) is one line on stderr,
  ``<command>: error: <message>``, the message naming the file and the line or column, and exit
  status 2 — argparse's own status for a bad option.  No traceback.
- ``--debug`` prints the traceback before that line, for a bug report.
- Anything else is a bug in the project: Python's traceback and exit status 1.
- Logging goes to stderr (the workflow's rules send it to the job's log file); ``-q/--quiet``
  keeps warnings and errors only.

``--debug`` and ``-q`` are accepted before or after the subcommand.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable

# Exit status for bad input, argparse's own for a bad option.
EXIT_BAD_INPUT = 2

# The errors that mean bad input.  The readers' own errors (CatalogError, MafError, FastaError,
# SelectionError, the model file's errors) are ValueErrors; OSError is a missing, unreadable or
# misplaced file, and a download that failed or is not what the manifest pins
# (pssnmf.data.sources.SourceError); KeyError a column or key a table lacks.
BAD_INPUT: tuple[type[BaseException], ...] = (ValueError, OSError, KeyError)

_LOG_FORMATS = {
    "plain": "%(levelname)s: %(message)s",  # a user's terminal
    "timed": "%(asctime)s %(levelname)s %(name)s: %(message)s",  # a workflow job's log file
}


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--debug`` and ``-q/--quiet`` on ``parser`` and on each of its subcommands."""
    _add(parser, None)
    for action in parser._actions:  # noqa: SLF001 - argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                # SUPPRESS: a subcommand's default must not overwrite the option given before it.
                _add(sub, argparse.SUPPRESS)


def _add(parser: argparse.ArgumentParser, default) -> None:
    given = {} if default is None else {"default": default}
    parser.add_argument("--debug", action="store_true", **given,
                        help="on bad input, print the traceback too (for a bug report)")
    if not any("--quiet" in action.option_strings for action in parser._actions):  # noqa: SLF001
        parser.add_argument("-q", "--quiet", action="store_true", **given, help="only print warnings and errors")


def run(prog: str, command: Callable[[argparse.Namespace], int | None], args: argparse.Namespace,
        log_format: str = "timed") -> int:
    """``command(args)`` under the error policy of this module; its exit status."""
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format=_LOG_FORMATS[log_format], stream=sys.stderr)
    try:
        status = command(args)
    except BAD_INPUT as err:
        if getattr(args, "debug", False):
            traceback.print_exc(file=sys.stderr)
        print(f"{prog}: error: {_message(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0 if status is None else int(status)


def spec_object(text: str) -> dict:
    """A command's ``--spec`` (the one JSON object a workflow rule passes) as a dict; a ValueError,
    so bad input under :func:`run`, when it is not JSON or not an object."""
    import json

    try:
        spec = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"--spec: not a JSON object ({err})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"--spec: expected a JSON object, got {type(spec).__name__}")
    return spec


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and err.args:
        return f"missing {err.args[0]!r}"  # str(KeyError) is only the quoted key
    if isinstance(err, OSError) and err.filename is not None and str(err.filename) not in str(err):
        return f"{err.filename}: {err}"
    return str(err)
