"""Floods the core: `count` requests of `tick` as fast as it can write them (on a thread), while
it reads every reply. Reports {"ok", "refused", "other", "missing"} on stderr, then waits for
stdin to close."""

import sys
import threading

from gatehouse_child import FRAMING, Conn, report

count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
conn = Conn()


def flood():
    chunk = []
    for i in range(1, count + 1):
        data = ('{"jsonrpc":"2.0","id":%d,"method":"tick","params":{"ms":2}}' % i).encode()
        chunk.append(conn.frame(data))
        if len(chunk) == 200:
            conn.write_raw(b"".join(chunk))
            chunk = []
    conn.write_raw(b"".join(chunk))


threading.Thread(target=flood, daemon=True).start()
ok = refused = 0
other = []
seen = set()
while len(seen) < count:
    message = conn.recv()
    if message is None:
        break
    seen.add(message.get("id"))
    if "result" in message:
        ok += 1
    elif message.get("error", {}).get("code") == -32007:
        refused += 1
    else:
        other.append(message)
report({"ok": ok, "refused": refused, "other": other[:5], "missing": count - len(seen)})
conn.drain()
