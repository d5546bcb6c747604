"""Bounds every stage applies to user-given numbers (one definition each; no heavy imports).

A value beyond these is a typo, refused with one line naming the file or option, before any work: it
would otherwise overflow an int64 bar index or run for hours.
"""

#: Upper bound of every count of sessions (entry window, holding period, horizons): 400 years of
#: sessions. Setup files (``entry.window``, ``max_hold``), ``[run]`` and the command line all use it.
MAX_SESSIONS = 100_000

#: Most targets a setup may have: the kernel's tranche and exit-reason codes are int8 (target ``j`` exits
#: with reason ``10 + j``), and no trade note lists more than a handful.
MAX_TARGETS = 20
