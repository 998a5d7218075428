"""Download a weights file on request: streamed to a temporary file next to its destination,
progress reported as it goes, the published hash verified, then moved into place atomically.

Interface for other modules:
    download_weights(url, destination, expected_hash, progress=None, title="") → Path
        ``progress(done_bytes, total_bytes | None)`` is called after each block; a failure
        (network, size, hash) raises CNNLabError and leaves no partial file behind.
Only the standard library is used (urllib), so ``http://127.0.0.1`` test servers work too.
"""

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from cnn_core.errors import CNNLabError

block_bytes = 1 << 20
max_download_bytes = 1 << 30         # no weights file we know of is over 1 GB


def download_weights(url, destination, expected_hash, progress=None, title="", timeout=30):
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    algorithm = "md5" if len(expected_hash) == 32 else "sha256"
    digest = hashlib.new(algorithm)
    what = f"{title} weights" if title else destination.name
    handle, partial = tempfile.mkstemp(prefix=destination.name, suffix=".part",
                                       dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as file, urllib.request.urlopen(url, timeout=timeout) as reply:
            total = int(reply.headers.get("Content-Length") or 0) or None
            done = 0
            while block := reply.read(block_bytes):
                done += len(block)
                if done > max_download_bytes:
                    raise CNNLabError(f"Downloading {what} from {url}: more than "
                                      f"{max_download_bytes:,} bytes, stopped.")
                digest.update(block)
                file.write(block)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise CNNLabError(f"Downloading {what} from {url}: got {done:,} of {total:,} bytes.")
        if digest.hexdigest() != expected_hash:
            raise CNNLabError(f"Downloading {what} from {url}: the file's {algorithm} hash is "
                              f"{digest.hexdigest()}, not the published {expected_hash}; "
                              "it was discarded.")
        os.replace(partial, destination)
        return destination
    except OSError as error:             # URLError, timeouts, refused connections, disk full
        reason = getattr(error, "reason", None) or error.strerror or error
        raise CNNLabError(f"Downloading {what} from {url} failed ({reason}).") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
