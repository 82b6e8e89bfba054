"""Writes the start of a request and never finishes it. Then `wait`: reads stdin until it
closes and exits 0; `exit`: exits 0 after 300 ms."""

import sys
import time

from gatehouse_child import Conn

conn = Conn()
conn.write_raw(b'{"jsonrpc":"2.0","id":1,"method":"tick","params":{')
if sys.argv[1] == "exit":
    time.sleep(0.3)
else:
    conn.drain()
