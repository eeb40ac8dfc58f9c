"""What every exact model shares around HiGHS: silencing its start-up banner on the process's stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 while HiGHS starts: it prints a banner there, past ``sys.stdout``, and stdout is
    the CLI's JSON channel.

    Examples
    --------
    >>> with quiet_stdout():
    ...     _ = os.write(1, b"banner")
    >>> print("after")
    after
    """
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)
