"""The C allocator's arenas in a server that many sessions share (glibc on Linux).

glibc's malloc gives each new thread its own arena, up to 8 per core, and an arena keeps the
memory its thread freed for later use by that arena only. Streamlit runs every script run in a
new thread, so a server shared by a class spreads its numpy arrays, decoded photos and
messages over 16 arenas on 2 cores, each keeping its own free space: measured with
benchmarks/load.py (4 sessions × 1 upload per round, SqueezeNet), the resident memory left
behind after the sessions had closed and expired grew +5.5 MiB per session in the second round
by default, and +0.5 MiB with at most 2 arenas (762 → 763 → 765 MiB over three rounds).
``MALLOC_ARENA_MAX=2`` in the environment does the same at start-up; this sets it from inside
the process, where the app starts, for the arenas created from then on.

    limit_malloc_arenas(arenas=2) → True if applied (glibc, and MALLOC_ARENA_MAX not set)
"""

import ctypes
import os
import sys

M_ARENA_MAX = -8        # glibc's <malloc.h>


def limit_malloc_arenas(arenas=2):
    """At most ``arenas`` malloc arenas from now on; a MALLOC_ARENA_MAX set by the operator
    wins. Elsewhere than glibc (macOS, Windows, musl) nothing is done."""
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt         # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1
