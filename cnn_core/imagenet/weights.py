"""Download a weights file on request: streamed to a temporary file next to its destination,
progress reported as it goes, the published hash verified, then moved into place atomically.

Interface for other modules:
    download_weights(url, destination, expected_hash, progress=None, title="") → Path
        ``progress(done_bytes, total_bytes | None)`` is called after each block; a failure
        (network, size, hash) raises CNNLabError and leaves no partial file behind.
    download_in_background(url, destination, expected_hash, title, expected_bytes) → DownloadJob
        the same on a thread, one per destination per process (sessions share it), so the page
        stays usable; poll ``job.fraction``, ``job.finished``, ``job.error``.
    downloads_allowed() → the operator's switch ``CNNLAB_WEIGHT_DOWNLOADS`` (default on); off,
        both refuse to start (a school server without internet, or no downloads wanted)
Only the standard library is used (urllib), so ``http://127.0.0.1`` test servers work too.
"""

import hashlib
import os
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cnn_core.errors import CNNLabError, log_for_operator
from cnn_core.settings import on_off

block_bytes = 1 << 20
max_download_bytes = 1 << 30         # no weights file we know of is over 1 GB


def downloads_allowed() -> bool:
    return on_off("CNNLAB_WEIGHT_DOWNLOADS", True)


def check_downloads_allowed(title):
    if not downloads_allowed():
        raise CNNLabError(f"Downloading the {title or 'model'} weights is turned off on this "
                          "server; its operator adds weights files instead (docs/deploy.md).")


def download_weights(url, destination, expected_hash, progress=None, title="", timeout=30):
    check_downloads_allowed(title)
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


@dataclass
class DownloadJob:
    """A download running on a background thread, shared by every session that asks for it."""

    title: str
    destination: Path
    expected_bytes: int = 0           # the size told to the user before they asked
    done_bytes: int = 0
    total_bytes: int | None = None
    error: str = ""
    finished: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def fraction(self):
        total = self.total_bytes or self.expected_bytes
        return min(1.0, self.done_bytes / total) if total else 0.0

    @property
    def succeeded(self):
        return self.finished and not self.error


_jobs = {}                 # destination → DownloadJob, for this process
_jobs_lock = threading.Lock()


def download_in_background(url, destination, expected_hash, title="", expected_bytes=0):
    """Start (or join) the download of ``url`` to ``destination``; returns its DownloadJob at
    once. A failed job is replaced by a new attempt; a running or finished one is shared."""
    check_downloads_allowed(title)
    destination = Path(destination)
    with _jobs_lock:
        job = _jobs.get(destination)
        if job is not None and not job.error:
            return job
        job = _jobs[destination] = DownloadJob(title, destination, expected_bytes)

    def progress(done, total):
        job.done_bytes, job.total_bytes = done, total

    def run():
        try:
            download_weights(url, destination, expected_hash, progress, title)
        except CNNLabError as error:
            job.error = str(error)
        except Exception as error:       # never let a thread die silently
            log_for_operator(f"Downloading {title} to {destination} failed: {error!r}")
            job.error = (f"Downloading {title or destination.name} failed; the server's log "
                         "says why.")
        finally:
            job.finished = True

    job.thread = threading.Thread(target=run, name=f"download {destination.name}", daemon=True)
    job.thread.start()
    return job


def download_job(destination):
    """The job for ``destination`` if one was started in this process, else None."""
    return _jobs.get(Path(destination))
