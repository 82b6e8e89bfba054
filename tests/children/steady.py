"""The well-behaved child that runs beside a faulty one: it calls `add` continuously, four
calls in flight, and checks every reply (id and result). The core's call `progress` answers
how many calls it has made; `stop` makes it finish what is in flight and answer with what it
saw: {"sent", "answered", "bad"}. Exits when stdin closes."""

import time

from gatehouse_child import Conn

conn = Conn()
outstanding = {}
sent = answered = 0
bad = []
stop_id = None


def send_one():
    global sent
    i = sent + 1
    conn.send({"jsonrpc": "2.0", "id": i, "method": "add", "params": {"a": i, "b": i}})
    outstanding[i] = 2 * i
    sent += 1


for _ in range(4):
    send_one()

while True:
    message = conn.recv()
    if message is None:
        break
    if "method" in message:
        if message["method"] == "stop":
            stop_id = message["id"]
        elif message["method"] == "progress":
            conn.reply(message["id"], sent)
        else:
            conn.reply(message.get("id"), error={"code": -32601, "message": "no"})
    else:
        expected = outstanding.pop(message.get("id"), None)
        if expected is None or message.get("result") != expected:
            bad.append(message)
        answered += 1
    if stop_id is not None:
        if not outstanding:
            conn.reply(stop_id, {"sent": sent, "answered": answered, "bad": bad})
            stop_id = None
            conn.drain()
            break
    else:
        while len(outstanding) < 4:
            time.sleep(0.002)
            send_one()
