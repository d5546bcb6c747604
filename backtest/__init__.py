"""backtest: turn trade setups written in market commentary into rule objects and test them on real bars.

The pipeline is the architecture, one package per stage, each handing one typed object to the next:

    articles  -> Article        (backtest.articles)
    setups    -> SetupFile      (backtest.setups)
    data      -> BarSet         (backtest.data)
    engine    -> Ledger         (backtest.engine)
    reports   -> Report         (backtest.reports)

Heavy modules (vectorbt, numba, plotly, yfinance) are imported lazily, only where used,
so that ``import backtest`` and ``backtest --help`` stay fast.
"""

__version__ = "0.1.0"
