"""Research-figures benchmark: scorecard, event study and the numpy portfolio on a generated corpus.

Usage::

    python benchmarks/bench_research.py                 # 10,000 articles; prints a table
    python benchmarks/bench_research.py --articles 2000 --json

The corpus is generated here (seeded): N articles on real XNYS sessions of the ``../shared/market-data``
mirror, each with a stance (45 % bullish, 40 % bearish, 15 % neutral), a Pulse score, one subject symbol
and two market-entry setups (one on the subject, one on SPY or QQQ; 60 % / 50 % explicit), one pair in
seven; one article in ten repeats the previous one's call. It runs through the real engine
(``backtest.engine.simulate``), so the calls, trades and exits are the ledger's; that part is not timed.

Timed (``repeat`` runs each, median and first): :func:`backtest.reports.scorecard.scorecard` (all four
tables, default 1,000 bootstrap replicates and 999 permutations), :func:`backtest.reports.event_study.event_study`
and :func:`backtest.reports.portfolio.follow_every_call`. The first run of a process also draws the
bootstrap's session weights (cached afterwards, as in a sweep over one calendar); ``first_s`` shows it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backtest.config import Config, DataConfig  # noqa: E402
from backtest.data.calendar import session_dates  # noqa: E402
from backtest.data.load import load_barset  # noqa: E402
from backtest.engine import SimConfig, simulate  # noqa: E402
from backtest.reports.event_study import event_study  # noqa: E402
from backtest.reports.portfolio import follow_every_call  # noqa: E402
from backtest.reports.scorecard import scorecard  # noqa: E402
from backtest.setups.model import SetupFile  # noqa: E402

SUBJECTS = ("IWM", "QQQ", "XLK", "DIA", "XLE", "XLV", "XLU")


def corpus(n: int, seed: int = 1) -> list[SetupFile]:
    rng = np.random.default_rng(seed)
    days = session_dates(dt.date(2024, 3, 1), dt.date(2026, 7, 31))
    files = []
    for i in range(n):
        if i % 10 == 9:
            meta = dict(files[-1]["article"], id=f"bench{i:06d}")
        else:
            stance = str(rng.choice(["bullish", "bearish", "neutral"], p=[0.45, 0.4, 0.15]))
            meta = {"id": f"bench{i:06d}", "published": days[rng.integers(0, len(days))].date(), "stance": stance,
                    "subject": [str(rng.choice(SUBJECTS))], "pulse": int(rng.integers(0, 101))}
        direction = "short" if meta["stance"] == "bearish" else "long"
        setups = [{"id": f"b{i}-s1", "symbol": meta["subject"][0], "direction": direction,
                   "max_hold": int(rng.integers(3, 60)), "explicit": bool(rng.random() < 0.6)},
                  {"id": f"b{i}-s2", "symbol": str(rng.choice(["SPY", "QQQ"])), "direction": str(rng.choice(["long", "short"])),
                   "max_hold": int(rng.integers(3, 60)), "explicit": bool(rng.random() < 0.5)}]
        if i % 7 == 0:
            setups.append({"id": f"b{i}-p", "kind": "pair", "max_hold": 20, "long": {"instrument": "a", "symbol": "QQQ"},
                           "short": {"instrument": "b", "symbol": "IWM"}})
        files.append({"article": meta, "setups": setups})
    return [SetupFile.model_validate(f) for f in files]


def timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"first_s": round(times[0], 3), "median_s": round(statistics.median(times), 3),
            "runs_s": [round(t, 3) for t in times]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "market-data")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    config = Config(data=DataConfig(sources=("mirror",), mirrors=(args.mirror,), cache_dir=Path("/nonexistent")))
    bars = load_barset(sorted(set(SUBJECTS) | {"SPY", "QQQ", "IWM"}), config)
    files = corpus(args.articles)
    start = time.perf_counter()
    ledger = simulate(files, bars, SimConfig())
    simulate_s = time.perf_counter() - start
    articles = pd.DataFrame([{"article_id": f.article.id, "stance": f.article.stance, "pulse": f.article.pulse}
                             for f in files])
    calls, trades, exits = ledger.calls, ledger.trades, ledger.exits
    out = {
        "articles": args.articles, "setups": int(len(trades)), "call_rows": int(len(calls)),
        "primary_calls": int(calls["primary"].sum() // 4), "entered": int(trades["status"].isin(["filled", "open"]).sum()),
        "simulate_s (untimed setup)": round(simulate_s, 1),
        "scorecard": timed(lambda: scorecard(calls, trades, articles, bars), args.repeat),
        "event_study": timed(lambda: event_study(calls, bars), args.repeat),
        "scorecard_plus_event_study": timed(lambda: (scorecard(calls, trades, articles, bars), event_study(calls, bars)),
                                            args.repeat),
        "portfolio": timed(lambda: follow_every_call(trades, exits, bars), args.repeat),
        "loadavg": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
