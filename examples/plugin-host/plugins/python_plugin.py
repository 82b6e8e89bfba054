#!/usr/bin/env python3
"""The watcher plugin of the plugin-host example, in Python with the standard library only.

The core starts it with its stdin and stdout as pipes and calls it `python-plugin`: every message
it writes on stdout is a JSON-RPC 2.0 request of that label, with that label's grants. It cannot
be anyone else, whatever it writes.

What it does, narrated on stderr (the core shows those lines):

1. asks the core who it is (`host_info`) and reads the store (`kv_list`, `kv_get`);
2. tries to write (`kv_set`), which its grants do not allow: refused with -32001;
3. tries to pass as `rust-plugin` — extra members in the request, an extra argument, a made-up
   method name — and is refused each time, as `python-plugin`;
4. listens to the `kv-changed` event (granted by `core:event:allow-listen`), says `ready`, then
   reads each changed value as the events arrive, and answers the core's `plugin.seen` call
   with the changes it saw;
5. exits when the core closes its stdin. The exit status is 1 if anything went differently
   than described above.

    python3 python_plugin.py [--framing lines|length-prefixed]
"""

import collections
import json
import struct
import sys

# The JSON-RPC error codes this plugin cares about.
NOT_ALLOWED = -32001
UNKNOWN_METHOD = -32601
INTERNAL_ERROR = -32603
CHANNEL_METHOD = "gatehouse:channel"


class RpcError(Exception):
    """An error reply from the other side."""

    def __init__(self, error):
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data")
        super().__init__(f"{self.code}: {self.message}")


class Closed(Exception):
    """The other side closed the pipe."""


class Client:
    """A JSON-RPC 2.0 client and server on a pair of byte streams (stdin/stdout by default).

    `call` sends a request and reads until its reply arrives. Whatever else arrives meanwhile —
    event and channel notifications, the core's own requests — is queued and handled, in order,
    by `serve` (or by the next `serve_pending`), never in the middle of a call: a handler may
    itself call the core without re-entering the reader.
    """

    def __init__(self, framing="lines", reader=None, writer=None):
        if framing not in ("lines", "length-prefixed"):
            raise ValueError(f"unknown framing {framing!r}")
        self._framing = framing
        self._reader = reader or sys.stdin.buffer
        self._writer = writer or sys.stdout.buffer
        self._next_id = 0
        self._next_channel = 0
        self._queue = collections.deque()
        self._methods = {}
        self._channels = {}

    # -- the wire ------------------------------------------------------------------------

    def _write(self, message):
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if self._framing == "lines":
            # json.dumps escapes every newline inside strings: one message is one line.
            frame = data + b"\n"
        else:
            frame = struct.pack(">I", len(data)) + data
        try:
            self._writer.write(frame)
            self._writer.flush()
        except (BrokenPipeError, ValueError) as e:
            raise Closed() from e

    def _read_exactly(self, n):
        data = self._reader.read(n)
        if data is None or len(data) < n:
            raise Closed()
        return data

    def _read(self):
        """The next message; raises Closed at the end of the stream."""
        while True:
            if self._framing == "lines":
                line = self._reader.readline()
                if not line:
                    raise Closed()
                line = line.strip()
                if not line:
                    continue
                text = line
            else:
                (length,) = struct.unpack(">I", self._read_exactly(4))
                text = self._read_exactly(length)
            try:
                message = json.loads(text)
            except ValueError as e:
                say(f"the core sent something that is not JSON ({e}); ignored")
                continue
            if isinstance(message, dict):
                return message
            say("the core sent something that is not a JSON object; ignored")

    # -- calling the core ----------------------------------------------------------------

    def call(self, method, params=None, envelope=None):
        """Calls `method` and returns its result; raises RpcError for an error reply.

        `envelope` adds members to the request object itself (for the spoofing attempts)."""
        self._next_id += 1
        request_id = self._next_id
        request = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        if envelope:
            request.update(envelope)
        self._write(request)
        while True:
            message = self._read()
            if "method" in message:
                # An event, a channel message or a request of the core: later, in order.
                self._queue.append(message)
                continue
            if message.get("id") != request_id:
                say(f"a reply for an id this plugin is not waiting for: {message.get('id')!r}")
                continue
            if "error" in message:
                raise RpcError(message["error"])
            return message.get("result")

    def notify(self, method, params=None):
        """Sends a notification (no reply)."""
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)

    def listen(self, event, callback):
        """Listens to `event`: `callback(payload)` runs for each one. Returns the listener id."""
        self._next_channel += 1
        channel = self._next_channel
        self._channels[channel] = lambda message: callback(message.get("payload"))
        return self.call(
            "plugin:event|listen", {"event": event, "handler": f"__CHANNEL__:{channel}"}
        )

    # -- being called by the core --------------------------------------------------------

    def expose(self, method, handler):
        """Lets the core call `method`: `handler(params)` returns the result."""
        self._methods[method] = handler

    def _dispatch(self, message):
        method = message.get("method")
        params = message.get("params")
        if method == CHANNEL_METHOD and "id" not in message:
            params = params if isinstance(params, dict) else {}
            handler = self._channels.get(params.get("channel"))
            if handler is None:
                say(f"a message for channel {params.get('channel')!r}, which is not ours")
            else:
                handler(params.get("message") or {})
            return
        handler = self._methods.get(method)
        if "id" not in message:
            if handler is not None:
                handler(params)
            return
        reply = {"jsonrpc": "2.0", "id": message["id"]}
        if handler is None:
            reply["error"] = {"code": UNKNOWN_METHOD, "message": f"unknown method `{method}`"}
        else:
            try:
                reply["result"] = handler(params)
            except RpcError as e:
                reply["error"] = {"code": e.code, "message": e.message}
            except Exception as e:  # noqa: BLE001 - the core gets an error, the plugin lives on
                reply["error"] = {"code": INTERNAL_ERROR, "message": str(e)}
        self._write(reply)

    def serve_pending(self):
        """Handles what arrived while calls were waiting."""
        while self._queue:
            self._dispatch(self._queue.popleft())

    def serve(self):
        """Handles events and the core's requests until the core closes the pipe."""
        while True:
            self.serve_pending()
            try:
                message = self._read()
            except Closed:
                return
            if "method" in message:
                self._dispatch(message)
            else:
                say(f"a reply nobody is waiting for: {message.get('id')!r}")


def say(line):
    """Narrates on stderr, which the core shows as this plugin's lines."""
    print(line, file=sys.stderr, flush=True)


def short(value, limit=60):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Watcher:
    def __init__(self, client):
        self.client = client
        self.seen = []
        self.surprises = 0

    def expect_ok(self, what, method, params=None):
        try:
            result = self.client.call(method, params)
        except RpcError as e:
            self.surprises += 1
            say(f"✗ {what}: unexpectedly refused ({e.code}: {e.message})")
            return None
        say(f"✓ {what} → {short(result)}")
        return result

    def expect_refused(self, what, method, params=None, envelope=None, code=NOT_ALLOWED):
        """Tries a call that must be refused with `code`, and tells the core what it saw."""
        try:
            result = self.client.call(method, params, envelope)
        except RpcError as e:
            caller = e.data.get("caller") if isinstance(e.data, dict) else None
            if e.code != code:
                self.surprises += 1
                say(f"✗ {what}: refused, but with {e.code} instead of {code}: {e.message}")
                return
            said_as = f", as `{caller}`" if caller else ""
            say(f"✓ {what} → refused ({e.code}{said_as})")
            self.report(f"refused {method}: code={e.code} caller={caller or '-'}")
            return
        self.surprises += 1
        say(f"✗ {what}: unexpectedly allowed → {short(result)}")

    def report(self, message):
        """Tells the core's log what this plugin saw, if its grants let it."""
        try:
            self.client.call("log", {"level": "info", "message": message})
        except RpcError as e:
            say(f"  (the core's log refused the report: {e.code})")

    def on_change(self, change):
        change = change if isinstance(change, dict) else {}
        key = change.get("key")
        by = change.get("by")
        try:
            value = self.client.call("kv_get", {"key": key})
        except RpcError as e:
            self.surprises += 1
            value = f"(unreadable: {e.code})"
        self.seen.append({"key": key, "by": by})
        say(f"⚡ event kv-changed: `{key}` changed by {by} → now {short(value)}")

    def run(self):
        info = self.expect_ok("host_info", "host_info")
        if info and info.get("label") != "python-plugin":
            self.surprises += 1
        if info:
            say(f"  the core calls me `{info.get('label')}`; I may call {', '.join(info.get('commands', []))}")
        keys = self.expect_ok("kv_list", "kv_list") or []
        for key in keys:
            self.expect_ok(f"kv_get {key}", "kv_get", {"key": key})

        self.expect_refused(
            "kv_set note (my grants do not include writing)",
            "kv_set",
            {"key": "note", "value": "written by python"},
        )
        # However the request claims to come from the Rust plugin, it is python-plugin's request.
        self.expect_refused(
            'kv_set claiming "caller": "rust-plugin" in the request',
            "kv_set",
            {"key": "note", "value": "spoofed"},
            envelope={"caller": "rust-plugin", "label": "rust-plugin", "window": "rust-plugin"},
        )
        self.expect_refused(
            'kv_set with "label": "rust-plugin" among the arguments',
            "kv_set",
            {"key": "note", "value": "spoofed", "label": "rust-plugin"},
        )
        self.expect_refused(
            "a method named rust-plugin|kv_set",
            "rust-plugin|kv_set",
            {"key": "note", "value": "spoofed"},
            code=UNKNOWN_METHOD,
        )

        try:
            listener = self.client.listen("kv-changed", self.on_change)
            say(f"✓ listen kv-changed → listener {listener}")
        except RpcError as e:
            self.surprises += 1
            say(f"✗ listen kv-changed: refused ({e.code}: {e.message})")

        self.client.expose("plugin.seen", lambda params: list(self.seen))
        self.client.notify("ready")
        say("ready: waiting for events and for the core's calls")
        self.client.serve()
        say(f"the core closed the pipe; {len(self.seen)} change(s) seen, bye")


def main(argv):
    framing = "lines"
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--framing" and args:
            framing = args.pop(0)
        else:
            say(f"usage: python_plugin.py [--framing lines|length-prefixed] (unexpected {arg!r})")
            return 2
    watcher = Watcher(Client(framing=framing))
    try:
        watcher.run()
    except Closed:
        say("the core closed the pipe during a call")
        return 1
    except RpcError as e:
        say(f"an unexpected error from the core: {e}")
        return 1
    return 1 if watcher.surprises else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
