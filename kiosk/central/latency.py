"""How a server process shares the interpreter between its threads.

A request to the server is mostly waiting: a desk checkout makes about fifteen round
trips to the database. Each time its answer comes back the thread must win the GIL
back, and a thread busy rendering a page (the Kiosks table, a long search) keeps it
for the whole switch interval, 5 ms by default: fifteen waits of up to 5 ms made a
checkout that takes 8 ms alone take 94 ms beside one busy thread (measured on the
2,000,000-item library). At 0.5 ms the same checkout took 21 ms; lower gained
nothing more. The busy thread loses little: it is handed the GIL back as soon as the
waiting one sends its next statement.

The collector stops every thread while it runs. A full collection in a server process
walked the 150,000 objects its imports and its app are made of, 150-166 ms each time,
however little the requests themselves had left behind: a stall for every request in
the process, every few thousand requests. Those objects live as long as the process,
so once it is built they are frozen out of every collection (``gc.freeze``) and a full
collection walks only what requests made.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_S = 0.0005


def answer_waiting_threads_promptly() -> None:
    """Call once in each server process (each uvicorn worker, the SIP2 server)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def collect_only_what_requests_make() -> None:
    """Call once a server process is built (its app, templates, database metadata), just
    before it serves: what exists then is never walked by the collector again."""
    gc.freeze()
