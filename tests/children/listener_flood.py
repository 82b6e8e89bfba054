"""A plugin that registers listeners by the thousand: it sends `plugin:event|listen` requests
(argv[1] of them, one per frame, of the comma-separated events argv[2] in turn) as fast as it can while a thread counts the
answers; then sends listens alone, each once the previous one was answered, until one is refused
(so that it holds exactly what the core allows, whatever refused the flood); then reports on
stderr (REPORT {"answered": n, "granted": n, "refused": {code: n}, "last": code}) and stops reading: the listeners it holds never read what the core sends them. It exits after argv[3]
seconds, or when the core kills it."""

import sys
import threading
import time

from gatehouse_child import Conn, report

listens = int(sys.argv[1])
events = sys.argv[2].split(",")
hold = float(sys.argv[3])

conn = Conn()
granted = 0
answered = 0
refused = {}


def read_answers():
    global granted, answered
    while answered < listens:
        message = conn.recv()
        if message is None:
            return
        if "id" not in message:
            continue  # an event
        answered += 1
        if isinstance(message.get("result"), int):
            granted += 1
        else:
            code = str(message.get("error", {}).get("code"))
            refused[code] = refused.get(code, 0) + 1


reader = threading.Thread(target=read_answers)
reader.start()
for i in range(listens):
    conn.request(
        "plugin:event|listen",
        {"event": events[i % len(events)], "handler": "__CHANNEL__:%d" % i},
    )
reader.join()
last = None
for i in range(300):
    probe = conn.request(
        "plugin:event|listen",
        {"event": events[0], "handler": "__CHANNEL__:%d" % (listens + i)},
    )
    message = conn.recv()
    while message is not None and message.get("id") != probe:
        message = conn.recv()
    if message is None:
        break
    if isinstance(message.get("result"), int):
        granted += 1
    else:
        last = message.get("error", {}).get("code")
        break
report({"answered": answered, "granted": granted, "refused": refused, "last": last})
time.sleep(hold)
