"""Writes garbage.

- mixed:       text that is not JSON, invalid UTF-8, JSON that is not a request, an unsolicited
               reply, deep nesting, an unknown method and one good request; reports every reply
               on stderr, then waits for stdin to close.
- huge-line:   a line of 8 MiB without a newline (the core must drop the child).
- huge-prefix: a length prefix announcing almost 4 GiB (framing must be prefixed).
"""

import struct
import sys
import time

from gatehouse_child import Conn, report

mode = sys.argv[1]
conn = Conn()

if mode == "mixed":
    frames = [
        b"not json",
        b'{"jsonrpc":"2.0","id":2,"method":"add","params":{"a":"\xff\xfe"}}',
        b"[]",
        b"42",
        b'{"id":5}',
        b'{"jsonrpc":"2.0","id":6,"result":1}',
        b"[" * 100 + b"]" * 100,
        b'{"jsonrpc":"2.0","id":8,"method":"echo","params":{"value":'
        + b"[" * 70 + b"]" * 70 + b"}}",
        b'{"jsonrpc":"2.0","id":9,"method":"add","params":{"a":1,"b":2}}',
        b'{"jsonrpc":"2.0","id":10,"method":"nope"}',
    ]
    for frame in frames:
        conn.write_raw(conn.frame(frame))
    replies = []
    while len(replies) < 9:
        message = conn.recv()
        if message is None:
            break
        replies.append(message)
    report(replies)
    conn.drain()
elif mode == "huge-line":
    chunk = b"x" * 65536
    try:
        for _ in range(128):
            conn.write_raw(chunk)
    except BrokenPipeError:
        sys.exit(3)
    time.sleep(60)
elif mode == "huge-prefix":
    conn.write_raw(struct.pack(">I", 0xFFFFFFF0) + b"{")
    time.sleep(60)
