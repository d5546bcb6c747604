"""``heatmap.html``: one metric of a sweep over two of its axes, the other axes fixed, as one offline page.

The page inlines plotly.js once and the cells' figures as JSON; selectors switch the metric and the
value of each fixed axis (the page redraws in the browser, nothing is fetched). ``--heatmap METRIC
--x AXIS --y AXIS --fix AXIS=VALUE`` choose what it shows first; by default the bullish-minus-bearish
difference of the trades over the first two axes, the others at their first value.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math

from ..errors import UsageError
from .cells import HEADLINE

DEFAULT_METRIC = "trades_diff_difference_pct"


@dataclasses.dataclass(frozen=True)
class View:
    metric: str
    x: str
    y: str | None
    fixed: dict  # axis -> value (index into the axis' values)


def metrics() -> list[str]:
    """The columns a heatmap may show: every numeric headline figure and the corrected p-values."""
    names = [c.name for c in HEADLINE.columns if c.dtype in ("float64", "Int64")]
    return names + ["trades_diff_p_holm", "calls_diff_p_holm"]


def choose_view(grid, metric: str | None, x: str | None, y: str | None, fix=()) -> View:
    """The first view of the page, checked against the grid (a one-line usage error names what is wrong)."""
    metric = metric or DEFAULT_METRIC
    if metric not in metrics():
        raise UsageError(f"unknown --heatmap metric {metric!r}", where="--heatmap",
                         hint="use a column of cells.csv, e.g. trades_diff_difference_pct (docs/sweep.md)")
    names = list(grid.names)
    for flag, axis in (("--x", x), ("--y", y)):
        if axis is not None and axis not in names:
            raise UsageError(f"{flag} {axis!r} is not an axis of the grid", where=flag, hint=f"use one of {', '.join(names)}")
    x = x or next(n for n in names if n != y)
    if y is None:
        y = next((n for n in names if n != x), None)
    if x == y:
        raise UsageError(f"--x and --y are both {x}", where="--y", hint="choose two different axes")
    fixed = {}
    for option in fix:
        name, sep, value = str(option).partition("=")
        name = name.strip()
        if not sep or name not in names or name in (x, y):
            raise UsageError(f"--fix {option!r} is not AXIS=VALUE for an axis other than --x and --y", where="--fix",
                             hint=f"axes: {', '.join(names)}")
        axis = grid.axes[names.index(name)]
        texts = [_text(v) for v in axis.values]
        if value.strip() not in texts:
            raise UsageError(f"--fix {name}={value.strip()}: not a value of the axis", where="--fix",
                             hint=f"use one of {', '.join(texts)}")
        fixed[name] = texts.index(value.strip())
    for name in names:
        if name not in (x, y):
            fixed.setdefault(name, 0)
    return View(metric, x, y, fixed)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 6) if math.isfinite(number) else None


def page(cells, grid, view: View, summary: dict) -> str:
    """The whole page (deterministic: the same cells give the same bytes)."""
    from plotly.offline import get_plotlyjs

    axes = [{"name": a.name, "values": [_text(v) for v in a.values]} for a in grid.axes]
    index = {}
    for k, axis in enumerate(grid.axes):
        lookup = {v: i for i, v in enumerate(axis.values)}
        index[axis.name] = [lookup[v.item() if hasattr(v, "item") else v] for v in cells[axis.name]]
    data = {
        "axes": axes,
        "position": [[index[a.name][c] for a in grid.axes] for c in range(len(cells))],
        "metrics": {m: [_number(v) for v in cells[m]] for m in metrics() if m in cells.columns},
        "view": {"metric": view.metric, "x": view.x, "y": view.y, "fixed": view.fixed},
    }
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    title = f"Sweep heatmap: {summary.get('cells', len(cells))} cells over {', '.join(grid.names)}"
    tested = summary.get("multiple_testing", {}).get("trades", {})
    note = ""
    if tested.get("cell") is not None:
        note = (f"Best trades difference: cell {tested['cell']} ({tested['difference_pct']:.3f} %), "
                f"p = {tested['p_value']:.4f} uncorrected, {tested['p_holm']:.4f} after Holm over "
                f"{tested['cells_with_p_value']} cells.")
    return _PAGE.format(title=html.escape(title), note=html.escape(note), plotly_js=get_plotlyjs(), data=blob,
                        script=_SCRIPT)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
label {{ margin-right: 1em; }}
#controls {{ margin: 0.5em 0 1em; }}
</style>
<script>{plotly_js}</script>
</head>
<body>
<h1>{title}</h1>
<p id="note">{note}</p>
<div id="controls"></div>
<div id="heatmap" style="width:100%;height:640px"></div>
<script id="sweep-data" type="application/json">{data}</script>
<script>{script}</script>
</body>
</html>
"""

_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("sweep-data").textContent);
  var view = data.view;
  var axes = data.axes;
  var names = axes.map(function (a) { return a.name; });
  var controls = document.getElementById("controls");
  function select(id, label, options, chosen, onchange) {
    var wrap = document.createElement("label");
    wrap.textContent = label + " ";
    var s = document.createElement("select");
    s.id = id;
    options.forEach(function (o, i) {
      var opt = document.createElement("option");
      opt.value = String(i); opt.textContent = o; if (i === chosen) opt.selected = true;
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onchange(parseInt(s.value, 10)); draw(); });
    wrap.appendChild(s); controls.appendChild(wrap);
  }
  var metricNames = Object.keys(data.metrics).sort();
  select("metric", "metric", metricNames, metricNames.indexOf(view.metric),
         function (i) { view.metric = metricNames[i]; });
  Object.keys(view.fixed).sort().forEach(function (name) {
    var axis = axes[names.indexOf(name)];
    select("fix-" + name, name, axis.values, view.fixed[name], function (i) { view.fixed[name] = i; });
  });
  function draw() {
    var xi = names.indexOf(view.x), yi = view.y === null ? -1 : names.indexOf(view.y);
    var xs = axes[xi].values, ys = yi < 0 ? [""] : axes[yi].values;
    var z = ys.map(function () { return xs.map(function () { return null; }); });
    var values = data.metrics[view.metric];
    data.position.forEach(function (pos, c) {
      for (var name in view.fixed) { if (pos[names.indexOf(name)] !== view.fixed[name]) return; }
      z[yi < 0 ? 0 : pos[yi]][pos[xi]] = values[c];
    });
    Plotly.react("heatmap", [{type: "heatmap", x: xs, y: ys, z: z, colorscale: "RdBu", zmid: 0,
                              hoverongaps: false, colorbar: {title: {text: view.metric}}}],
                 {title: {text: view.metric}, xaxis: {title: {text: view.x}, type: "category"},
                  yaxis: {title: {text: view.y || ""}, type: "category"}, margin: {t: 60}},
                 {displaylogo: false, responsive: true});
    document.body.setAttribute("data-drawn", view.metric + ":" + JSON.stringify(view.fixed));
  }
  draw();
})();
"""

__all__ = ["DEFAULT_METRIC", "View", "choose_view", "metrics", "page"]
