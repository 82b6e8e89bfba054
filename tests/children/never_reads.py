"""Asks for large replies and never reads them: the core's writes to it must time out."""

import time

from gatehouse_child import Conn

conn = Conn()
payload = "y" * 32768
for i in range(1, 401):
    conn.request("echo", {"value": payload})
time.sleep(60)
