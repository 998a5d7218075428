"""release_closed_sessions against Streamlit's own upload and media managers: a session the
runtime no longer knows loses its uploads and pictures; a live (or reconnectable) one keeps them."""

import pytest

from cnn_core.session_cleanup import release_closed_sessions

streamlit_media = pytest.importorskip("streamlit.runtime.media_file_manager")
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # noqa: E402
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager  # noqa: E402
from streamlit.runtime.uploaded_file_manager import UploadedFileRec  # noqa: E402


class FakeRuntime:
    """The three things the function asks of Streamlit's Runtime, with real managers."""

    def __init__(self, live):
        self.live = set(live)
        self.uploaded_file_mgr = MemoryUploadedFileManager("/_stcore/upload_file")
        self.media_file_mgr = streamlit_media.MediaFileManager(MemoryMediaFileStorage("/media"))

    def get_app_session(self, session_id):
        return object() if session_id in self.live else None


def test_a_session_that_is_gone_loses_its_uploads_and_pictures(monkeypatch):
    runtime = FakeRuntime(live={"open-tab"})
    for sid, size in (("open-tab", 1000), ("closed-tab", 3000)):
        for n in range(2):
            runtime.uploaded_file_mgr.add_file(sid, UploadedFileRec(f"{sid}-{n}", "p.png",
                                                                    "image/png", b"x" * size))
        monkeypatch.setattr(streamlit_media, "_get_session_id", lambda sid=sid: sid)
        runtime.media_file_mgr.add(f"picture of {sid}".encode(), "image/jpeg", f"coord-{sid}")
    media_storage = runtime.media_file_mgr._storage._files_by_id
    assert len(media_storage) == 2

    released = release_closed_sessions(runtime)

    assert released == {"sessions": 1, "files": 2, "bytes": 6000}
    assert list(runtime.uploaded_file_mgr.file_storage) == ["open-tab"]
    assert len(runtime.uploaded_file_mgr.get_files("open-tab", ["open-tab-0", "open-tab-1"])) == 2
    assert [file.content for file in media_storage.values()] == [b"picture of open-tab"]
    assert release_closed_sessions(runtime) == {"sessions": 0, "files": 0, "bytes": 0}


def test_nothing_to_do_without_a_running_streamlit():
    assert release_closed_sessions() == {"sessions": 0, "files": 0, "bytes": 0}
