"""The socket guard of tests/test_nothing_leaves.py: loaded by every Python process that has
this folder on PYTHONPATH (and so by the processes they spawn), active only when
``CNNLAB_NETGUARD_LOG`` names a directory.

In each process it writes ``<dir>/<pid>.loaded`` (its command line), then refuses
every network target that is not this machine's loopback: ``socket.getaddrinfo`` and the
``gethostby*`` look-ups for any name but localhost (so no public name is resolved by DNS),
``connect``/``connect_ex`` and ``sendto``/``sendmsg`` to any non-loopback address. Each refusal
is appended to ``<dir>/<pid>.log`` ("<call> <target>", one line) and raised as an OSError
(socket.gaierror for look-ups), so nothing is ever sent. A fork keeps the guard and logs under
its own pid. AF_UNIX and other non-IP sockets pass. Native code that opens sockets without
Python (a C++ library's own HTTP client) is out of its reach; the test's counting proxy sees
those that honour the proxy variables.
"""

import ipaddress
import os
import socket
import sys

LOG_DIR = os.environ.get("CNNLAB_NETGUARD_LOG")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _chain_to_shadowed_sitecustomize():
    """Run the sitecustomize this one hides (one later on sys.path), if there is one."""
    import importlib.util

    here = os.path.dirname(os.path.realpath(__file__))
    for entry in sys.path:
        folder = os.path.realpath(entry or ".")
        if folder == here:
            continue
        path = os.path.join(folder, "sitecustomize.py")
        if os.path.isfile(path):
            spec = importlib.util.spec_from_file_location("_shadowed_sitecustomize", path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            return


def is_local(host):
    """Loopback (or the unspecified address, which Linux routes to it); None: a passive bind."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in LOCAL_NAMES or host == "":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def record(call, target):
    try:
        with open(os.path.join(LOG_DIR, f"{os.getpid()}.log"), "a") as log:
            log.write(f"{call} {target}\n")
    except OSError:
        pass


def _ip_target(sock, address):
    """(host, port) of an AF_INET/AF_INET6 address, else None (AF_UNIX, netlink, ...)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        return address[0], address[1] if len(address) > 1 else None
    return None


def _guard_address(call, sock, address):
    target = _ip_target(sock, address)
    if target is not None and not is_local(target[0]):
        record(call, f"{target[0]}:{target[1]}")
        raise ConnectionRefusedError(f"netguard: {call} to {target[0]}:{target[1]} refused")


def _guard_name(call, host, port=None):
    if not is_local(host):
        record(call, host if port is None else f"{host}:{port}")
        raise socket.gaierror(socket.EAI_NONAME, f"netguard: {call} of {host!r} refused")


def install():
    real = socket.socket
    connect, connect_ex, sendto, sendmsg = real.connect, real.connect_ex, real.sendto, real.sendmsg
    getaddrinfo = socket.getaddrinfo
    lookups = {name: getattr(socket, name)
               for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")}

    def guarded_connect(self, address):
        _guard_address("connect", self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _guard_address("connect_ex", self, address)
        return connect_ex(self, address)

    def guarded_sendto(self, data, *rest):
        if rest:
            _guard_address("sendto", self, rest[-1])
        return sendto(self, data, *rest)

    def guarded_sendmsg(self, buffers, *rest):
        if len(rest) >= 3 and rest[2] is not None:
            _guard_address("sendmsg", self, rest[2])
        return sendmsg(self, buffers, *rest)

    def guarded_getaddrinfo(host, port, *args, **kwargs):
        _guard_name("getaddrinfo", host, port)
        return getaddrinfo(host, port, *args, **kwargs)

    def guarded_lookup(name):
        original = lookups[name]

        def lookup(host, *args):
            _guard_name(name, host)
            return original(host, *args)
        return lookup

    real.connect, real.connect_ex = guarded_connect, guarded_connect_ex
    real.sendto, real.sendmsg = guarded_sendto, guarded_sendmsg
    socket.getaddrinfo = guarded_getaddrinfo
    for name in lookups:
        setattr(socket, name, guarded_lookup(name))


def mark_loaded():
    """``<pid>.loaded``: the command line (sys.argv is not complete yet while site runs)."""
    try:
        with open("/proc/self/cmdline", "rb") as cmdline:
            command = cmdline.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = " ".join([sys.executable, *getattr(sys, "argv", [])])
    try:
        with open(os.path.join(LOG_DIR, f"{os.getpid()}.loaded"), "w") as marker:
            marker.write(command.replace("\n", " ") + "\n")
    except OSError:
        pass


if LOG_DIR:
    install()
    mark_loaded()
_chain_to_shadowed_sitecustomize()
