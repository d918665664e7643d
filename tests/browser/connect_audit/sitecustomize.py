"""Log every outbound socket connection and name lookup of this Python process.

The server-privacy test puts this folder on PYTHONPATH, so Python imports it at start-up
(``sitecustomize``) in the server it launches. When ``MNIST_LAB_CONNECT_LOG`` names a file,
an audit hook appends one JSON line per ``socket.connect``, ``socket.sendto`` and
``socket.getaddrinfo`` event: what the process tried to reach.
"""
import json
import os
import sys

_LOG_PATH = os.environ.get("MNIST_LAB_CONNECT_LOG")
_EVENTS = {"socket.connect", "socket.connect_ex", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"}


def _target(event, args):
    if event == "socket.getaddrinfo":
        return [args[0], args[1]]
    address = args[-1] if event in ("socket.sendto", "socket.sendmsg") else args[1]
    return list(address) if isinstance(address, tuple) else address


def _log(event, args):
    if event not in _EVENTS:
        return
    try:
        target = _target(event, args)
    except Exception:  # an audit hook must never break the call it watches
        target = repr(args)
    with open(_LOG_PATH, "a") as log:
        log.write(json.dumps({"event": event, "target": target, "pid": os.getpid()}, default=repr) + "\n")


if _LOG_PATH:
    sys.addaudithook(_log)
    with open(_LOG_PATH, "a") as _start_log:
        _start_log.write(json.dumps({"event": "start", "target": None, "pid": os.getpid()}) + "\n")
