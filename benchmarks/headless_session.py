"""A Streamlit session without a browser: the app's own websocket protocol (protobuf BackMsg /
ForwardMsg, as the browser speaks it) and its upload endpoint, so a load test measures the
server rather than Chromium renderers sharing its cores. 127.0.0.1 only.

    async with HeadlessSession(url) as session:
        await session.open("classify")                 # first script run of the page
        seconds = await session.upload("cat-1.png", data)   # until that photo's top-5 arrives
        await session.run([session.state("batch size", double_value=64)])   # any widget, by label
        session.texts                  # headings, markdown, captions, progress texts of that run

The XSRF token is read from the cookie the server sets on its health check and sent back the way
the browser does (websocket subprotocol, ``X-Xsrftoken`` header), so the server's protection
stays on.
"""

import asyncio
import http.cookies
import time
import urllib.request
import uuid

from streamlit.proto import BackMsg_pb2, ForwardMsg_pb2

FINISHED = ForwardMsg_pb2.ForwardMsg.ScriptFinishedStatus


def delete_file(url, token):
    """The browser's removal of an uploaded file (a single-file uploader does it to the file it
    replaces): DELETE with the XSRF header and cookie."""
    request = urllib.request.Request(url, method="DELETE", headers={
        "X-Xsrftoken": token, "Cookie": f"_streamlit_xsrf={token}"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        if reply.status not in (200, 204):
            raise SessionError(f"delete of an upload: HTTP {reply.status}")


class SessionError(RuntimeError):
    pass


def xsrf_token(url):
    with urllib.request.urlopen(url + "/_stcore/health", timeout=30) as reply:
        cookies = http.cookies.SimpleCookie()
        for header in reply.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    return cookies["_streamlit_xsrf"].value if "_streamlit_xsrf" in cookies else ""


def put_file(url, token, name, data):
    """The browser's upload: multipart/form-data PUT with the XSRF header and cookie."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "X-Xsrftoken": token, "Cookie": f"_streamlit_xsrf={token}"})
    with urllib.request.urlopen(request, timeout=120) as reply:
        if reply.status not in (200, 204):
            raise SessionError(f"upload of {name}: HTTP {reply.status}")


class HeadlessSession:
    def __init__(self, url, timeout=300):
        self.url, self.timeout = url, timeout
        self.session_id = self.uploader_id = self.page = None
        self.uploaded_delete_url = None     # the file the uploader holds (replaced by the next)
        self.token = ""
        self.widgets = {}       # label → the widget's proto (its ``id``, options, …), as drawn
        self.texts = []         # what the last run showed in words (headings, markdown, …)

    async def __aenter__(self):
        from websockets.asyncio.client import connect

        self.token = await asyncio.to_thread(xsrf_token, self.url)
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        protocols = ["streamlit", self.token] if self.token else ["streamlit"]
        self.socket = await connect(ws_url, subprotocols=protocols, max_size=None,
                                    additional_headers={"Cookie": f"_streamlit_xsrf={self.token}"})
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()

    async def send(self, message):
        await self.socket.send(message.SerializeToString())

    async def receive(self):
        message = ForwardMsg_pb2.ForwardMsg()
        message.ParseFromString(await asyncio.wait_for(self.socket.recv(), self.timeout))
        return message

    async def run(self, widget_states=(), until_chart_after=None):
        """One script run, read to its end; returns when the first chart after the heading
        ``until_chart_after`` arrived (perf_counter), or None. Raises SessionError on an
        exception box, or when that chart never came."""
        back = BackMsg_pb2.BackMsg()
        back.rerun_script.page_name = self.page
        back.rerun_script.widget_states.widgets.extend(widget_states)
        await self.send(back)
        seen_heading, chart_at = False, None
        self.texts = []
        while True:
            message = await self.receive()
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.session_id = message.new_session.initialize.session_id
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    raise SessionError(f"exception box: {element.exception.message[:200]}")
                if which == "file_uploader" and self.uploader_id is None:
                    self.uploader_id = element.file_uploader.id
                if which == "heading" and element.heading.body == until_chart_after:
                    seen_heading = True
                self.note(element, which)
                if which == "vega_lite_chart" and seen_heading and chart_at is None:
                    chart_at = time.perf_counter()
            elif kind == "script_finished":
                status = message.script_finished
                if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
                    continue
                if until_chart_after and chart_at is None:
                    raise SessionError(f"the run finished without a top-5 for {until_chart_after}")
                return chart_at

    def note(self, element, which):
        """Keep the widgets (by label) and the words of an element just drawn."""
        body = getattr(element, which)
        if hasattr(body, "id") and hasattr(body, "label") and body.label:
            self.widgets[body.label] = body
        for field in ("body", "text"):
            if isinstance(getattr(body, field, None), str) and getattr(body, field):
                self.texts.append(getattr(body, field))

    def state(self, label, **value):
        """A WidgetState for the widget drawn with ``label``: e.g. ``double_value=64`` (number
        input), ``string_value="Title"`` (selectbox: the option as shown), ``trigger_value=True``
        (button)."""
        if label not in self.widgets:
            raise SessionError(f"no widget labelled {label!r} on {self.page}")
        state = BackMsg_pb2.BackMsg().rerun_script.widget_states.widgets.add()
        state.id = self.widgets[label].id
        for field, content in value.items():
            setattr(state, field, content)
        return state

    async def open(self, page):
        self.page, self.uploader_id, self.widgets = page, None, {}
        self.uploaded_delete_url = None     # another page's uploader: a new widget
        await self.run()
        if self.session_id is None or (page == "classify" and self.uploader_id is None):
            raise SessionError("the page did not start a session with a file uploader")

    async def upload(self, name, data):
        """Upload one photo and wait for its top-5 chart; returns the seconds it took."""
        started = time.perf_counter()
        back = BackMsg_pb2.BackMsg()
        back.file_urls_request.request_id = uuid.uuid4().hex
        back.file_urls_request.file_names.append(name)
        back.file_urls_request.session_id = self.session_id
        await self.send(back)
        while (message := await self.receive()).WhichOneof("type") != "file_urls_response":
            pass
        response = message.file_urls_response
        if response.error_msg or not response.file_urls:
            raise SessionError(f"no upload URL: {response.error_msg}")
        urls = response.file_urls[0]
        if self.uploaded_delete_url:        # as the browser: the replaced file is deleted
            await asyncio.to_thread(delete_file, self.uploaded_delete_url, self.token)
            self.uploaded_delete_url = None
        upload_url = urls.upload_url if "://" in urls.upload_url else self.url + urls.upload_url
        await asyncio.to_thread(put_file, upload_url, self.token, name, data)
        self.uploaded_delete_url = (urls.delete_url if "://" in urls.delete_url
                                    else self.url + urls.delete_url)
        state = BackMsg_pb2.BackMsg().rerun_script.widget_states.widgets.add()
        state.id = self.uploader_id
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        return await self.run([state], until_chart_after=name) - started
