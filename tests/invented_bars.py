"""Small invented inputs shared by the data and CLI-shell tests (made-up numbers, no third-party rows).

``BARS``: ZED's ten XNYS sessions 2026-02-02..2026-02-13 as a mirror CSV (open 100 rising by 1 a day, high
+1, low -1, close +0.5). ``SETUP``: one article published 2026-02-03 after the close with a long on ZED
(stop 98, target 106) that enters at 2026-02-04's open.
"""

BARS = "date,open,high,low,close,volume\n" + "".join(
    f"2026-02-{day:02d},{100 + i},{101 + i},{99 + i},{100.5 + i},1000\n"
    for i, day in enumerate([2, 3, 4, 5, 6, 9, 10, 11, 12, 13]))

SETUP = ("article:\n  id: zed-note\n  published: 2026-02-03T22:00:00Z\n"
         "setups:\n  - id: zed-long\n    symbol: ZED\n    direction: long\n    stop: 98\n    targets: [106]\n")
