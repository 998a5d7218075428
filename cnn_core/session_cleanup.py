"""A closed tab frees what it held: the uploads and pictures of Streamlit sessions that are gone.

    release_closed_sessions()  → {"sessions": n, "files": n, "bytes": n}   (call once per run)

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds (default
120) so that a reconnecting browser finds its state. When that time is up the session is simply
dropped from the session store — ``AppSession.shutdown()`` is not called — so the two places
that index data by session id keep it for the life of the process: the uploaded files
(``uploaded_file_mgr.file_storage``, the raw bytes of every photo the tab uploaded) and the
media references (``media_file_mgr``: pictures drawn with ``st.image``). On a server a class
shares for hours that grows with every closed tab. This releases, for every session id those
two hold that the runtime no longer knows (``Runtime.get_app_session`` is None: neither
connected nor kept for reconnection), exactly what ``AppSession.shutdown()`` would have.

Streamlit is imported inside the function (cnn_core stays importable without it). The
internals used are checked by tests/test_session_cleanup.py against Streamlit's own classes.
"""

from __future__ import annotations


def release_closed_sessions(runtime=None) -> dict:
    """Drop the uploaded files and media references of sessions the runtime no longer has.
    ``runtime``: Streamlit's Runtime (default: the running one; none running → nothing)."""
    if runtime is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return {"sessions": 0, "files": 0, "bytes": 0}
        runtime = Runtime.instance()
    uploads = runtime.uploaded_file_mgr
    media = runtime.media_file_mgr
    stored = getattr(uploads, "file_storage", {})  # MemoryUploadedFileManager's, by session
    referenced = getattr(media, "_files_by_session_and_coord", {})
    gone = {sid for sid in [*list(stored), *list(referenced)]
            if runtime.get_app_session(sid) is None}
    files = size = 0
    for sid in gone:
        held = dict(stored.get(sid, {}))
        files += len(held)
        size += sum(len(record.data) for record in held.values())
        uploads.remove_session_files(sid)
        media.clear_session_refs(sid)
    if gone:
        media.remove_orphaned_files()
    return {"sessions": len(gone), "files": files, "bytes": size}
