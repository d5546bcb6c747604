"""A corpus of hand-written-style setup files on the real mirror prices, for the command-line benchmark.

``write_corpus(directory, n_setups, mirror)`` writes ``n_setups`` setups into about ``n_setups / 4.5``
YAML files, one per invented article, in the style of ``docs/setup-format.md``: a comment line, flow
mappings for entries, lists of targets. Each article is published at a random instant (or on a date) in
the mirror's history and gets 1-8 setups on the mirror's symbols, with levels placed around the **real**
last close before publication (read from ``../shared/market-data``; nothing is copied from it into the
files but levels derived from it): stop, limit, close-confirmed and market entries, long and short,
stops 1.5-5 % away, 0-3 targets, some invalidations, some explicit and some conditional, 2 % pairs, and
a few setups far from the market (refused as incoherent) or on an unknown instrument (unresolved), as a
real corpus has.

Everything is a pure function of the seed: the same call writes the same bytes. The files go to a
temporary directory of the benchmark, never into the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Mirror files and the symbols they hold (``RUT_INDEX.csv`` is ``^RUT``).
SYMBOLS = {"IWM": "IWM", "SPY": "SPY", "QQQ": "QQQ", "DIA": "DIA", "XLE": "XLE", "XLK": "XLK", "XLU": "XLU",
           "XLV": "XLV", "RUT_INDEX": "^RUT", "GSPC_INDEX": "^GSPC", "NDX_INDEX": "^NDX", "DJI_INDEX": "^DJI"}
WORDS = {"IWM": "small caps", "SPY": "the S&P 500 ETF", "QQQ": "the Nasdaq 100 ETF", "DIA": "the Dow ETF",
         "XLE": "energy", "XLK": "tech", "XLU": "utilities", "XLV": "healthcare", "^RUT": "the Russell 2000",
         "^GSPC": "the S&P 500", "^NDX": "the Nasdaq 100", "^DJI": "the Dow"}


def _closes(mirror: Path) -> dict[str, pd.Series]:
    """Each symbol's closes **as traded** (the mirror's split-adjusted series multiplied back before each
    split in ``SPLITS.csv``): a writer quotes the price people saw."""
    splits = pd.read_csv(mirror / "SPLITS.csv", parse_dates=["date"]) if (mirror / "SPLITS.csv").exists() else None
    out = {}
    for stem, symbol in SYMBOLS.items():
        frame = pd.read_csv(mirror / f"{stem}.csv", usecols=["date", "close"], parse_dates=["date"])
        close = pd.Series(frame["close"].to_numpy(), index=pd.DatetimeIndex(frame["date"]))
        for _, split in (splits[splits["symbol"] == symbol].iterrows() if splits is not None else ()):
            close[close.index < split["date"]] *= float(split["ratio"])
        out[symbol] = close
    return out


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def write_corpus(directory: Path, n_setups: int, mirror: Path, seed: int = 17) -> dict:
    """Write the corpus into ``directory`` (created); returns ``{"files": ..., "setups": ...}``."""
    rng = np.random.default_rng(seed)
    closes = _closes(Path(mirror))
    symbols = list(closes)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = files = 0
    first, last = pd.Timestamp("2024-03-01"), pd.Timestamp("2026-07-31")
    span_days = (last - first).days
    while written < n_setups:
        files += 1
        article = f"note-{files:06d}"
        day = first + pd.Timedelta(days=int(rng.integers(0, span_days)))
        timed = rng.random() < 0.7
        if timed:
            published = (day + pd.Timedelta(minutes=int(rng.integers(0, 24 * 60)))).strftime("%Y-%m-%dT%H:%M:00Z")
        else:
            published = day.strftime("%Y-%m-%d")
        stance = rng.choice(["bullish", "bearish", "neutral"], p=[0.45, 0.35, 0.2])
        subject = symbols[int(rng.integers(0, len(symbols)))]
        lines = [f"# Desk note {files} (invented for the benchmark; levels around the real close)",
                 "format: backtest.setups/1", "article:", f"  id: {article}",
                 f"  title: Invented desk note {files}", f"  published: {published}", f"  stance: {stance}",
                 f"  pulse: {int(rng.integers(0, 101))}", f"  threat: {int(rng.integers(0, 6))}",
                 f"  subject: [{subject}]", "setups:"]
        count = min(int(rng.integers(1, 9)), n_setups - written)
        for k in range(count):
            sid = f"{article}-s{k + 1}"
            roll = rng.random()
            if roll < 0.02:
                long_, short = rng.choice(symbols, 2, replace=False)
                lines += [f"  - id: {sid}", "    kind: pair", f"    instrument: long {WORDS[long_]} / short {WORDS[short]}",
                          f"    long: {{instrument: {WORDS[long_]}, symbol: {long_}}}",
                          f"    short: {{instrument: {WORDS[short]}, symbol: {short}}}"]
                continue
            if roll < 0.03:
                lines += [f"  - id: {sid}", "    instrument: an invented frontier-market index", "    status: unresolved",
                          "    direction: long", "    entry: {type: stop, level: 1250}"]
                continue
            symbol = symbols[int(rng.integers(0, len(symbols)))]
            series = closes[symbol]
            before = series[series.index < day]
            ref = float(before.iloc[-1]) if len(before) else float(series.iloc[0])
            if roll < 0.05:
                ref *= 0.7  # an old level the market has long left: incoherent, refused
            long = rng.random() < 0.55
            sign = 1.0 if long else -1.0
            kind = rng.choice(["stop", "limit", "close", "market"], p=[0.35, 0.3, 0.15, 0.2])
            away = rng.uniform(0.003, 0.03)
            entry = ref * (1 + sign * away) if kind in ("stop", "close") else ref * (1 - sign * away) if kind == "limit" else ref
            stop = entry * (1 - sign * rng.uniform(0.015, 0.05))
            n_targets = int(rng.choice([0, 1, 2, 3], p=[0.15, 0.4, 0.3, 0.15]))
            targets, level = [], entry
            for _ in range(n_targets):
                level *= 1 + sign * rng.uniform(0.01, 0.04)
                targets.append(level)
            lines += [f"  - id: {sid}", f"    instrument: {WORDS[symbol]}", f"    symbol: {symbol}",
                      f"    direction: {'long' if long else 'short'}"]
            if kind != "market":
                window = f", window: {int(rng.integers(5, 30))}" if rng.random() < 0.2 else ""
                lines.append(f"    entry: {{type: {kind}, level: {_num(entry)}{window}}}")
            if rng.random() < 0.9:
                lines.append(f"    stop: {_num(stop)}")
            if targets:
                lines.append(f"    targets: [{', '.join(_num(t) for t in targets)}]")
            if kind in ("stop", "close") and rng.random() < 0.15:
                lines.append(f"    invalidation: {_num(ref * (1 - sign * rng.uniform(0.01, 0.03)))}")
            if rng.random() < 0.15:
                lines.append(f"    max_hold: {int(rng.integers(5, 90))}")
            if rng.random() < 0.3:
                lines.append("    explicit: false")
        written += count
        (directory / f"{article}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"files": files, "setups": written}


if __name__ == "__main__":
    import sys

    target, n = Path(sys.argv[1]), int(sys.argv[2])
    mirror = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(__file__).resolve().parents[1] / ".." / "shared" / "market-data"
    print(write_corpus(target, n, mirror))
