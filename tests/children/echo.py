"""A well-behaved child the tests script through the core's calls:

- echo(params)            returns its params
- proxy({method, params}) calls the core's `method` and returns the core's whole reply
- raw({text, reply})      writes `text` as one frame and returns the core's next reply to it
- received()              the channel messages that arrived (params of `gatehouse:channel`)
- notifications()         the core's other notifications
- never()                 never answers
- late({ms})              answers after `ms` milliseconds
- exit({code})            answers, then exits with `code`
It exits when stdin closes.
"""

import sys
import threading

from gatehouse_child import Conn

conn = Conn()
proxied = {}  # our request id -> the core's request id
raw_waiting = []  # the core's request ids waiting for the reply to a raw frame
received = []
notifications = []

while True:
    message = conn.recv()
    if message is None:
        break
    if isinstance(message, dict) and "method" in message:
        method = message["method"]
        params = message.get("params")
        core_id = message.get("id")
        if core_id is None:
            if method == "gatehouse:channel":
                received.append(params)
            else:
                notifications.append({"method": method, "params": params})
        elif method == "echo":
            conn.reply(core_id, params)
        elif method == "proxy":
            our_id = conn.request(params["method"], params.get("params", {}))
            proxied[our_id] = core_id
        elif method == "raw":
            conn.write_raw(conn.frame(params["text"].encode("utf-8", "surrogateescape")))
            if params.get("reply", True):
                raw_waiting.append(core_id)
            else:
                conn.reply(core_id, None)
        elif method == "received":
            conn.reply(core_id, received)
        elif method == "notifications":
            conn.reply(core_id, notifications)
        elif method == "never":
            pass
        elif method == "late":
            timer = threading.Timer(params["ms"] / 1000, conn.reply, (core_id, "late"))
            timer.daemon = True
            timer.start()
        elif method == "exit":
            conn.reply(core_id, None)
            sys.exit(params.get("code", 0))
        else:
            conn.reply(core_id, error={"code": -32601, "message": "unknown method " + method})
    else:
        # A reply from the core: to a proxied call, or to a raw frame.
        our_id = message.get("id") if isinstance(message, dict) else None
        if our_id in proxied:
            conn.reply(proxied.pop(our_id), message)
        elif raw_waiting:
            conn.reply(raw_waiting.pop(0), message)
        else:
            print("echo.py: unexpected message", message, file=sys.stderr)
