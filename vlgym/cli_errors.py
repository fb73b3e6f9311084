"""How the command-line tools end: a mistake in the request is one line on stderr and exit code 2; a bug keeps its
traceback.

What counts as a mistake in the request (a "user error"):

- usage errors found by the argument parser (unknown options, values that are not numbers, numbers out of range);
- :class:`~vlgym.errors.UserError` and :class:`~vlgym.errors.MissingExtraError`;
- a missing, unreadable or unwritable file or folder (``FileNotFoundError``, ``PermissionError``, a read-only or
  full disk, ...): paths come from the user;
- an env that refuses its ``gym.make`` arguments (``-k/--kwarg``): a ``ValueError`` raised while gymnasium makes
  the env, or a ``TypeError`` raised by gymnasium's call itself (an unknown keyword);
- whatever a tool's own ``translators`` recognise (``vlgym-train``: out of memory).

Everything else is a bug and propagates with its traceback. ``--debug`` anywhere on the command line, or
``VLGYM_DEBUG=1``, shows the traceback of user errors too.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import NoReturn

import typer

from vlgym.errors import MissingExtraError, UserError

#: A function that turns an exception into a one-line message, or returns None when it is not a user error.
Translator = Callable[[BaseException], str | None]

# Recent typer versions bundle their own click: its exception classes are reached through typer's public ones.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UNKNOWN_KEYWORD = re.compile(r"unexpected keyword argument '([^']+)'")
_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)
_DISK_ERRNOS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES)


def _gym_make_frame(tb: TracebackType | None):
    """The frame of gymnasium's ``make`` in a traceback, if the error went through it."""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "make" and code.co_filename.endswith(os.path.join("gymnasium", "envs", "registration.py")):
            return tb.tb_frame
        tb = tb.tb_next
    return None


def _env_argument_error(error: BaseException) -> str | None:
    make = _gym_make_frame(error.__traceback__)
    if make is None or not isinstance(error, ValueError | TypeError):
        return None
    spec = make.f_locals.get("env_spec")
    env_id = getattr(spec, "id", None) or make.f_locals.get("id")
    if isinstance(error, TypeError):  # only a keyword the env does not take; other TypeErrors are bugs
        unknown = _UNKNOWN_KEYWORD.search(str(error))
        if unknown is None:
            return None
        return f"{env_id} has no argument {unknown.group(1)!r} (its docstring lists them: help(env.unwrapped))"
    return f"{env_id}: {error}"


def user_error_message(error: BaseException, translators: Sequence[Translator] = ()) -> str | None:
    """The one-line message for ``error`` if it is a user error (see the module docstring), else None."""
    if isinstance(error, UserError | MissingExtraError):
        return str(error)
    if isinstance(error, _FILE_ERRORS) or (isinstance(error, OSError) and error.errno in _DISK_ERRNOS):
        if error.filename is None:
            return str(error)
        return f"{error.strerror or type(error).__name__}: {error.filename}"
    for translate in translators:
        message = translate(error)
        if message is not None:
            return message
    return _env_argument_error(error)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def run_cli(app: typer.Typer, prog_name: str, *, translators: Sequence[Translator] = ()) -> NoReturn:
    """Run a Typer app as a console script; user errors end as ``error: ...`` on stderr with exit code 2.

    It is the whole body of a console script's ``main()``: ``run_cli(app, "vlgym")``.
    """
    debug = os.environ.get("VLGYM_DEBUG", "") not in ("", "0") or "--debug" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--debug"]
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except _ClickException as error:  # the parser's usage errors: no traceback to hide
        ctx = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help(), file=sys.stderr)
        else:
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            print(f"error: {_one_line(error.format_message())}{hint}", file=sys.stderr)
        sys.exit(error.exit_code)
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        message = user_error_message(error, translators)
        if message is None or debug:
            raise
        print(f"error: {_one_line(message)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
