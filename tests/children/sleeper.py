"""Ignores stdin closing and SIGTERM: only a kill ends it."""

import signal
import time

import gatehouse_child  # noqa: F401 (bounds its life)

signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(60)
