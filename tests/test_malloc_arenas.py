"""limit_malloc_arenas caps glibc's malloc arenas: counted with glibc's own malloc_info()
while eight threads hold memory at once, in a fresh process each time (a cap is process-wide)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent('''
    import ctypes, re, sys, threading
    from cnn_core.malloc_arenas import limit_malloc_arenas
    applied = limit_malloc_arenas(2) if sys.argv[1] == "cap" else None
    barrier, kept = threading.Barrier(8), []
    def hold():                      # 64 KiB: below the mmap threshold, so from an arena
        kept.append(bytearray(64 * 1024))
        barrier.wait()
    threads = [threading.Thread(target=hold) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = sys.argv[2]
    stream = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(applied, len(re.findall("<heap nr=", open(path).read())))
''')


def probe(folder, mode, operator_setting=None):
    """(applied, number of arenas) in a fresh Python: ``mode`` "cap" calls
    limit_malloc_arenas(2); ``operator_setting``: MALLOC_ARENA_MAX in its environment;
    glibc's malloc_info() report goes to a file in ``folder``."""
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    if operator_setting is not None:
        env["MALLOC_ARENA_MAX"] = operator_setting
    report = folder / f"malloc-info-{mode}-{operator_setting}.xml"
    done = subprocess.run([sys.executable, "-c", PROBE, mode, str(report)], capture_output=True,
                          text=True, timeout=60, env=env, cwd=REPO_ROOT, check=True)
    applied, heaps = done.stdout.split()
    return applied, int(heaps)


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc arenas (Linux)")
def test_at_most_two_arenas_once_limited_and_the_operators_setting_wins(tmp_path):
    assert probe(tmp_path, "none")[1] > 2          # by default: an arena per thread (9 here)
    assert probe(tmp_path, "cap") == ("True", 2)
    assert probe(tmp_path, "cap", operator_setting="3") == ("False", 3)   # the operator's: kept
