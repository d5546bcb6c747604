"""Score ``backtest extract`` against the hand-labelled corpora in ``tests/extraction_corpus/``.

Each corpus folder holds article files and a ``labels.yaml`` (format described at its top): the setups a
careful reader finds in each article, its publication and its stance. This script runs the extraction the
way users do (``backtest extract DIR --json``, or the same library call in-process with ``--in-process``)
and prints, per writing style:

* **recall (entry)**: share of labelled setups found with the right instrument, direction and entry
  (type and level);
* **recall (complete)**: … and also the right stop and every target, in order;
* **precision**: share of extracted setups that are a labelled setup (right instrument, direction, entry);
* publication and stance read right (share of articles).

Rates come with their count and a 95% Wilson interval (scipy). ``--details`` lists every miss and every
extra setup; ``--json`` prints the figures as one JSON object (used by ``tests/test_extraction_corpus.py``).

    python benchmarks/extraction_score.py                      # dev and held-out corpora
    python benchmarks/extraction_score.py tests/extraction_corpus/dev --details
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPORA = [REPO / "tests" / "extraction_corpus" / name
           for name in ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                        "heldout8", "heldout9", "heldout10", "heldout11", "heldout12", "heldout13", "heldout14", "heldout15", "heldout16")]
#: Relative tolerance for comparing levels (labels are written as the article writes them).
TOLERANCE = 1e-6


# ------------------------------------------------------------------------------------------ labels
@dataclasses.dataclass(frozen=True)
class Expected:
    """One labelled setup, normalised for comparison."""

    kind: str  # single | pair
    symbol: str | None
    direction: str
    entry_type: str
    entry_level: float | None
    stop: float | None
    targets: tuple[float, ...]
    explicit: bool
    long: str | None = None
    short: str | None = None

    def describe(self) -> str:
        if self.kind == "pair":
            return f"pair long {self.long} / short {self.short}"
        entry = "market" if self.entry_type == "market" else f"{self.entry_type} {self.entry_level:g}"
        targets = ", ".join(f"{t:g}" for t in self.targets) or "-"
        stop = f"{self.stop:g}" if self.stop is not None else "-"
        return f"{self.symbol} {self.direction} {entry} stop {stop} targets [{targets}]"


def load_labels(folder: Path) -> dict[str, dict]:
    data = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
    articles = data["articles"]
    for article_id, item in articles.items():
        item["expected"] = [_expected(raw, article_id) for raw in item.get("setups") or []]
    return articles


def _expected(raw: dict, where: str) -> Expected:
    if "pair" in raw:
        long, short = raw["pair"]
        return Expected("pair", None, "long", "market", None, None, (), bool(raw.get("explicit", True)), long, short)
    entry = raw["entry"]
    etype, level = ("market", None) if entry == "market" else (entry[0], float(entry[1]))
    if etype not in ("market", "stop", "limit", "close") or raw["dir"] not in ("long", "short"):
        raise ValueError(f"{where}: bad label {raw}")
    return Expected("single", raw.get("symbol"), raw["dir"], etype, level,
                    None if raw.get("stop") is None else float(raw["stop"]),
                    tuple(float(t) for t in raw.get("targets") or ()), bool(raw.get("explicit", True)))


def _published_label(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # a quoted label: '2026-08-10' or '2026-08-10T21:30:00Z'
        value = (dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value
                 else dt.date.fromisoformat(value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    return value.isoformat()


# -------------------------------------------------------------------------------------- extraction
def extract(folder: Path, in_process: bool) -> dict[str, dict]:
    """article id -> the ``--json`` object of ``backtest extract`` (offline, the repository's config).

    The folder and its JSON alerts, named as a user names them (``extract FOLDER FOLDER/*.json``): a
    folder's ``.json`` files are not read as articles unless named."""
    paths = [folder, *sorted(folder.glob("*.json"))]
    if in_process:
        from backtest.config import load_config
        from backtest.extraction.batch import extract_json_lines

        config = load_config(REPO / "backtest.toml").with_overrides(offline=True)
        lines = [line.text for line in extract_json_lines(paths, config=config) if line.text]
    else:
        cmd = [sys.executable, "-m", "backtest.cli", "--config", str(REPO / "backtest.toml"), "--offline",
               "extract", *map(str, paths), "--json"]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"backtest extract failed ({done.returncode}): {done.stderr.strip()}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {obj["article_id"]: obj for obj in map(json.loads, lines)}


def _got(setup: dict) -> Expected:
    if setup["kind"] == "pair":
        return Expected("pair", None, "long", "market", None, None, (), setup["explicit"],
                        setup.get("long_symbol"), setup.get("short_symbol"))
    return Expected("single", setup["symbol"], setup["direction"], setup["entry_type"], setup["entry_level"],
                    setup["stop"], tuple(setup["targets"]), setup["explicit"])


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def entry_match(e: Expected, x: Expected) -> bool:
    if e.kind != x.kind:
        return False
    if e.kind == "pair":
        return (e.long, e.short) == (x.long, x.short)
    return (e.symbol == x.symbol and e.direction == x.direction and e.entry_type == x.entry_type
            and _same(e.entry_level, x.entry_level))


def complete_match(e: Expected, x: Expected) -> bool:
    return (entry_match(e, x) and _same(e.stop, x.stop) and len(e.targets) == len(x.targets)
            and all(_same(a, b) for a, b in zip(e.targets, x.targets)))


@dataclasses.dataclass
class ArticleScore:
    article_id: str
    format: str
    dateless: bool
    expected: int = 0
    extracted: int = 0
    entry_found: int = 0
    complete_found: int = 0
    explicit_expected: int = 0
    explicit_complete: int = 0
    matched_extracted: int = 0
    published_ok: bool = False
    stance_ok: bool = False
    misses: list[str] = dataclasses.field(default_factory=list)
    extras: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def score_article(article_id: str, label: dict, got: dict | None) -> ArticleScore:
    score = ArticleScore(article_id, label["format"], bool(label.get("dateless")))
    expected: list[Expected] = label["expected"]
    extracted = [_got(s) for s in (got or {}).get("setups", [])]
    score.expected, score.extracted = len(expected), len(extracted)
    if got is None:
        score.notes.append("article skipped by extract")
    free = list(range(len(extracted)))
    for e in expected:
        score.explicit_expected += e.explicit
        pick = next((i for i in free if complete_match(e, extracted[i])), None)
        complete = pick is not None
        if pick is None:
            pick = next((i for i in free if entry_match(e, extracted[i])), None)
        if pick is None:
            score.misses.append(f"missed   {e.describe()}")
            continue
        free.remove(pick)
        score.entry_found += 1
        score.matched_extracted += 1
        if complete:
            score.complete_found += 1
            score.explicit_complete += e.explicit
        else:
            score.misses.append(f"partial  {e.describe()}  (got {extracted[pick].describe()})")
    score.extras = [f"extra    {extracted[i].describe()}{'' if extracted[i].explicit else ' (hedged)'}" for i in free]
    want_published = _published_label(label.get("published"))
    have_published = (got or {}).get("published")
    score.published_ok = got is not None and want_published == have_published
    if got is not None and not score.published_ok:
        score.notes.append(f"published {have_published!r}, expected {want_published!r}")
    score.stance_ok = got is not None and got.get("stance") == label.get("stance")
    if got is not None and not score.stance_ok:
        score.notes.append(f"stance {got.get('stance')!r}, expected {label.get('stance')!r}")
    return score


# ------------------------------------------------------------------------------------------ figures
def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95% Wilson interval for k successes in n (scipy), None when n is 0."""
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def rate(k: int, n: int) -> dict:
    ci = wilson(k, n)
    return {"k": k, "n": n, "rate": (k / n) if n else None, "ci95": ci}


def figures(scores: list[ArticleScore]) -> dict:
    def group(items: list[ArticleScore]) -> dict:
        expected = sum(s.expected for s in items)
        extracted = sum(s.extracted for s in items)
        return {
            "articles": len(items),
            "setups": expected,
            "extracted": extracted,
            "recall_entry": rate(sum(s.entry_found for s in items), expected),
            "recall_complete": rate(sum(s.complete_found for s in items), expected),
            "recall_complete_explicit": rate(sum(s.explicit_complete for s in items),
                                             sum(s.explicit_expected for s in items)),
            "precision": rate(sum(s.matched_extracted for s in items), extracted),
            "published": rate(sum(s.published_ok for s in items), len(items)),
            "stance": rate(sum(s.stance_ok for s in items), len(items)),
        }

    by_format: dict[str, list[ArticleScore]] = defaultdict(list)
    for s in scores:
        by_format[s.format].append(s)
    out = {name: group(items) for name, items in sorted(by_format.items())}
    dateless = [s for s in scores if s.dateless]
    if dateless:
        out["(dateless)"] = group(dateless)
    out["all"] = group(scores)
    return out


def score_corpus(folder: Path, in_process: bool = False) -> tuple[dict, list[ArticleScore]]:
    labels = load_labels(folder)
    got = extract(folder, in_process)
    scores = [score_article(article_id, label, got.get(article_id)) for article_id, label in sorted(labels.items())]
    return figures(scores), scores


def _cell(r: dict) -> str:
    if r["rate"] is None:
        return "-".center(22)
    low, high = r["ci95"]
    return f"{r['rate']:.3f} ({r['k']}/{r['n']}) [{low:.2f},{high:.2f}]".ljust(22)


def render(name: str, figs: dict) -> str:
    head = (f"{'format':<14}{'art':>4}{'setups':>7}{'got':>5}  {'recall entry':<22}  {'recall complete':<22}  "
            f"{'precision':<22}  {'published':<22}  {'stance':<22}")
    lines = [f"== {name}", head, "-" * len(head)]
    for fmt, g in figs.items():
        lines.append(f"{fmt:<14}{g['articles']:>4}{g['setups']:>7}{g['extracted']:>5}  {_cell(g['recall_entry'])}  "
                     f"{_cell(g['recall_complete'])}  {_cell(g['precision'])}  {_cell(g['published'])}  "
                     f"{_cell(g['stance'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="*", type=Path, help="corpus folders (default: dev and held-out)")
    parser.add_argument("--in-process", action="store_true", help="call the library instead of the command")
    parser.add_argument("--details", action="store_true", help="list misses, extra setups and metadata errors")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    folders = args.corpora or [c for c in CORPORA if (c / "labels.yaml").is_file()]
    report: dict[str, dict] = {}
    for folder in folders:
        figs, scores = score_corpus(folder, args.in_process)
        report[folder.name] = figs
        if args.json:
            continue
        print(render(folder.name, figs))
        if args.details:
            for s in scores:
                problems = s.misses + s.extras + s.notes
                if problems:
                    print(f"  {s.article_id}")
                    for p in problems:
                        print(f"      {p}")
        print()
    if args.json:
        print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
