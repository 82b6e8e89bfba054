"""The stdio protocol of Gatehouse with the standard library only, for the tests' children.

Every child imports this module first: it also bounds the child's life (60 s), so a test that
fails cannot leave a process behind.
"""

import json
import os
import signal
import struct
import sys
import threading

signal.alarm(60)

FRAMING = os.environ.get("GATEHOUSE_FRAMING", "lines")


class Conn:
    """One end of the pipes: JSON-RPC messages on stdin and stdout."""

    def __init__(self):
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.lock = threading.Lock()
        self.last_id = 0

    def write_raw(self, data):
        with self.lock:
            self.out.write(data)
            self.out.flush()

    def frame(self, data):
        if FRAMING == "lines":
            return data + b"\n"
        return struct.pack(">I", len(data)) + data

    def send(self, message):
        self.write_raw(self.frame(json.dumps(message, separators=(",", ":")).encode()))

    def request(self, method, params=None, notification=False):
        """Sends a request; returns its id (None for a notification)."""
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if notification:
            self.send(message)
            return None
        self.last_id += 1
        message["id"] = self.last_id
        self.send(message)
        return self.last_id

    def reply(self, id, result=None, error=None):
        message = {"jsonrpc": "2.0", "id": id}
        if error is not None:
            message["error"] = error
        else:
            message["result"] = result
        self.send(message)

    def recv(self):
        """The next message from the core; None once stdin is closed."""
        if FRAMING == "lines":
            while True:
                line = self.inp.readline()
                if not line:
                    return None
                if line.strip():
                    return json.loads(line)
        head = self.inp.read(4)
        if len(head) < 4:
            return None
        (length,) = struct.unpack(">I", head)
        body = self.inp.read(length)
        if len(body) < length:
            return None
        return json.loads(body)

    def drain(self):
        """Reads until the core closes stdin."""
        while self.recv() is not None:
            pass


def report(value):
    """A line on stderr that the tests read back."""
    print("REPORT " + json.dumps(value), file=sys.stderr, flush=True)
