"""Starts a slow request in the core, then crashes (SIGABRT) in the middle of the core's call
`work`, without answering it."""

import os

from gatehouse_child import Conn

conn = Conn()
conn.request("slow", {"ms": 500})
while True:
    message = conn.recv()
    if message is None:
        break
    if message.get("method") == "work":
        os.abort()
