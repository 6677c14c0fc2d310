"""How to run qakit's commands from anywhere: the command line a person can paste into a fresh shell.

Kept apart from :mod:`qakit.cli` (which imports papermill and nbconvert) so the explorer can print its
report command without loading them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ._public import public


@public
def qakit_command() -> list[str]:
    """How to run qakit from any folder in a fresh shell (nothing activated), as an argument list:
    in a source checkout its ``qa`` script (it bootstraps the environment, then runs ``qakit`` in
    the caller's folder); otherwise the ``qakit`` entry point of the running environment, by its
    full path; otherwise this Python with ``-m qakit.cli``. The explorer prints its report command
    with it.

    Examples
    --------
    >>> Path(qakit_command()[0]).is_absolute()
    True
    """
    root = Path(__file__).resolve().parents[1]  # the checkout holding qakit/
    qa = root / "qa"
    if qa.is_file() and os.access(qa, os.X_OK) and (root / "pyproject.toml").is_file():
        return [str(qa)]
    exe = Path(sys.executable).parent / ("qakit.exe" if os.name == "nt" else "qakit")
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "qakit.cli"]
