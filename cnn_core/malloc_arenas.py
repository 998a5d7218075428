"""The C allocator's arenas in a server that many sessions share (glibc on Linux).

glibc's malloc gives each new thread its own arena, up to 8 per core, and an arena keeps the
memory its thread freed for later use by that arena only. Streamlit runs every script run in a
new thread, so a server shared by a class spreads its numpy arrays, decoded photos and
messages over 16 arenas on 2 cores, each keeping its own free space. Measured with
benchmarks/load.py (SqueezeNet, 6 sessions and 10 uploads a round, 4 rounds), the resident
memory once each round's sessions had closed and expired: 848 / 854 / 850 / 840 MiB with the
default arenas, 814 / 827 / 823 / 818 with this cap set where the app starts, 772 / 790 / 779 /
788 with ``MALLOC_ARENA_MAX=2`` in the environment at start-up (which also covers the arenas
made before the app's first run). Memory levels off in every case; the cap lowers the level.

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
