"""Errors that describe a mistake in what was asked for, as opposed to a bug in vlgym.

The command-line tools print such an error as one line and exit with code 2 (see :mod:`vlgym.cli_errors`);
in Python they are ordinary exceptions.
"""

from __future__ import annotations


class UserError(Exception):
    """A request that cannot be served as given: a bad value, a missing file, a wrong combination of options.

    The message says what is wrong and, where there is one, what to do instead.
    """


class MissingExtraError(ImportError):
    """An env family needs an optional extra that is not installed here.

    Raised when the env is made (``gym.make``), naming the family, the missing packages and the install commands.

    >>> import gymnasium as gym, vlgym
    >>> try:
    ...     env = gym.make("vlgym/MiniWorld-OneRoom-v0")  # doctest: +SKIP
    ... except vlgym.MissingExtraError as error:
    ...     print(error.install)  # doctest: +SKIP
    pip install "vlgym[miniworld]"
    """

    def __init__(self, family: str, extra: str, missing: list[str]):
        self.family, self.extra, self.missing = family, extra, list(missing)
        self.install = f'pip install "vlgym[{extra}]"'
        super().__init__(f"the {family} envs need the '{extra}' extra, which is not installed here (missing: "
                         f"{', '.join(self.missing)}): {self.install}, or from a checkout `bash scripts/install.sh "
                         f"{extra}`", name=self.missing[0])


class AgentUnavailableError(UserError):
    """An agent cannot answer any more (e.g. its model server is down): ``vlgym eval`` writes the episodes finished
    so far, marked ``"stopped"`` with this message, and exits with code 2. ``partial`` holds those results."""

    partial: object = None
