"""The per-file limit's clock (`--file-timeout`): CPU seconds of the scanning thread, not wall time.

The limit exists to stop a hostile or pathological file (the scanned tree is untrusted), and what such a
file spends is CPU. Wall time also counts the time the thread waited for a core: on a loaded CI machine
(session 7: load 13-29 on 2 cores) ordinary files of nats-server passed a 60 s wall-clock limit and their
findings were missing, differently from run to run. A thread's CPU time does not grow while it waits, so a
file gets the same budget of work at any load, and a hostile file still stops after that much work.
"""

from __future__ import annotations

import time

# CLOCK_THREAD_CPUTIME_ID: this thread's user + system time (a server scanning in a thread is not charged
# for its other threads' work). A system call, not the vDSO's: callers read it every 1024 steps at most.
now = time.thread_time
