// report.html's behaviour: the trades table sorts and filters; every article's charts are drawn on demand from
// the compact data in #article-data (backtest/reports/article_data.py documents its fields).
(function () {
  "use strict";
  function sortable(table) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[col];
          var raw = cell.getAttribute("data-v");
          var text = raw !== null ? raw : cell.textContent.trim();
          var number = parseFloat(text.replace(/[+%,]/g, ""));
          return text === "" || text === "–" ? null : (/^[-+]?[\d.,]+%?$/.test(text) && !isNaN(number) ? number : text);
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }  // empty cells last
          var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
          return asc ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  function filterable(input, table) {
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.style.display = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
      });
    });
  }
  var trades = document.getElementById("trades");
  if (trades) { sortable(trades); filterable(document.getElementById("trade-filter"), trades); }

  // ------------------------------------------------------------------ articles, drawn on demand
  var source = document.getElementById("article-data");
  if (!source) { return; }
  var D = JSON.parse(source.textContent);
  var A = D.articles, S = D.setups, L = D.levels, G = D.legs;
  var REFUSED = {"rejected": 1, "no-data": 1, "unresolved": 1, "undated": 1};
  var COLORS = {entry: "#1f77b4", stop: "#d62728", target: "#2ca02c", invalidation: "#9467bd"};
  function group(column) {
    var out = {};
    column.forEach(function (key, i) { (out[key] = out[key] || []).push(i); });
    return out;
  }
  var legsOf = group(G.s), firstSetup = [], counted = 0;
  A.n.forEach(function (n) { firstSetup.push(counted); counted += n; });
  function setupsOf(article) {
    var out = [];
    for (var i = firstSetup[article]; i < firstSetup[article] + A.n[article]; i++) { out.push(i); }
    return out;
  }
  function entryDay(article, i) { return S.ed[i] === null ? -1 : A.day[article] + S.ed[i]; }
  function exitDay(article, i) { return S.ed[i] === null || S.xd[i] === null ? -1 : entryDay(article, i) + S.xd[i]; }
  var firstLevel = [], total = 0;  // levels are in setup order, S.nl[i] of them for setup i
  S.nl.forEach(function (n) { firstLevel.push(total); total += n; });
  var moved = {};
  L.moved.forEach(function (k, j) { moved[k] = L.v[j]; });
  var shortEntry = {};
  S.p2s.forEach(function (i, j) { shortEntry[i] = S.p2[j]; });
  function symbolsOf(i) {
    var codes = Array.isArray(S.sym[i]) ? S.sym[i] : [S.sym[i]];
    return codes.map(function (k) { return k >= 0 ? D.symbols[k] : null; });
  }
  function levelName(code) {
    return code === 0 ? "entry" : code === 1 ? "stop" : code === 2 ? "invalidation" : "target " + (code - 2);
  }
  function day(n) { return new Date(n * 86400000).toISOString().slice(0, 10); }
  function pct(v) { return v === null || v === undefined ? "–" : (v > 0 ? "+" : "") + v.toFixed(2) + "%"; }
  function slug(text) { return String(text).replace(/[^A-Za-z0-9]/g, "-").replace(/^-+|-+$/g, "").toLowerCase() || "x"; }
  function lower(days, value) {  // first position with days[i] >= value
    var lo = 0, hi = days.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (days[mid] < value) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }
  function chart(article, symbol, rows, target) {
    var bars = D.bars[symbol];
    if (!bars || A.day[article] < 0) { return false; }
    var pub = A.day[article], last = -1;
    rows.forEach(function (i) { if (exitDay(article, i) > last) { last = exitDay(article, i); } });
    var start = lower(bars.day, pub - D.window.before);
    var after = lower(bars.day, pub + 1);
    var stop = last >= 0 ? lower(bars.day, last + D.window.after + 1) : Math.min(bars.day.length, after + D.window.sessions);
    if (stop <= start) { return false; }
    var x = bars.day.slice(start, stop).map(day);
    var low = Math.min.apply(null, bars.l.slice(start, stop)), high = Math.max.apply(null, bars.h.slice(start, stop));
    var span = high - low, range = [low, high];
    var data = [{type: "candlestick", x: x, open: bars.o.slice(start, stop), high: bars.h.slice(start, stop),
                 low: bars.l.slice(start, stop), close: bars.c.slice(start, stop), name: symbol, showlegend: false}];
    var entries = {long: [[], [], []], short: [[], [], []]}, exits = [[], [], []];
    rows.forEach(function (i) {
      var refused = REFUSED[D.statuses[S.st[i]]] === 1, pair = S.dir[i] === 0, names = symbolsOf(i);
      if (!pair && names[0] === symbol) {
        for (var k = firstLevel[i]; k < firstLevel[i] + S.nl[i]; k++) {
          var w = L.w[k], v = k in moved ? moved[k] : w, name = levelName(L.n[k]);
          if (v >= low - 2.5 * span && v <= high + 2.5 * span) { range = [Math.min(range[0], v), Math.max(range[1], v)]; }
          var label = S.id[i] + " " + name + " " + w + (Math.abs(v - w) > 1e-9 ? " (" + v + " in the bars' basis)" : "")
            + (refused ? " (refused)" : "");
          data.push({type: "scatter", mode: "lines", x: [x[0], x[x.length - 1]], y: [v, v], name: label,
                     line: {color: COLORS[name.split(" ")[0]] || "#444", width: 1, dash: refused ? "dot" : "dash"}});
        }
      }
      var leg = pair ? (names[0] === symbol ? 0 : 1) : -1;
      if (pair && names[leg] !== symbol) { return; }
      if (S.ed[i] !== null) {
        var side = pair ? (leg === 0 ? "long" : "short") : (S.dir[i] > 0 ? "long" : "short");
        var price = pair && leg === 1 ? shortEntry[i] : S.ep[i];
        entries[side][0].push(day(entryDay(article, i))); entries[side][1].push(price);
        entries[side][2].push(S.id[i] + (pair ? " (" + side + " leg)" : ""));
      }
      if (pair) {
        (legsOf[i] || []).forEach(function (k) {
          if (G.leg[k] === leg) { exits[0].push(day(G.d[k])); exits[1].push(G.p[k]); exits[2].push(S.id[i] + " exit"); }
        });
      } else if (exitDay(article, i) >= 0 && S.xp[i] !== null) {
        exits[0].push(day(exitDay(article, i))); exits[1].push(S.xp[i]);
        exits[2].push(S.id[i] + " " + (S.xr[i] === null ? "exit" : D.reasons[S.xr[i]]));
      }
    });
    [["long", "triangle-up", "#2ca02c", "long entry"], ["short", "triangle-down", "#d62728", "short entry"]].forEach(function (m) {
      var e = entries[m[0]];
      if (e[0].length) {
        data.push({type: "scatter", mode: "markers", x: e[0], y: e[1], text: e[2], name: m[3],
                   marker: {symbol: m[1], size: 12, color: m[2]}, hovertemplate: "%{text}<br>%{x}<br>%{y:.2f}<extra></extra>"});
      }
    });
    if (exits[0].length) {
      data.push({type: "scatter", mode: "markers", x: exits[0], y: exits[1], text: exits[2], name: "exit",
                 marker: {symbol: "x", size: 11, color: "#111"}, hovertemplate: "%{text}<br>%{x}<br>%{y:.2f}<extra></extra>"});
    }
    var pad = 0.03 * (range[1] - range[0] || range[1] || 1);
    var layout = {title: {text: symbol + " — " + A.id[article]}, height: 420, margin: {l: 50, r: 10, t: 40, b: 40},
                  xaxis: {title: {text: "session"}, rangeslider: {visible: false}, rangebreaks: [{bounds: ["sat", "mon"]}]},
                  yaxis: {title: {text: "price (bars' basis)"}, range: [range[0] - pad, range[1] + pad]},
                  legend: {orientation: "h", y: -0.2, font: {size: 10}},
                  shapes: [{type: "line", x0: day(pub), x1: day(pub), y0: 0, y1: 1, yref: "paper",
                            line: {color: "#444", dash: "dot", width: 1}}],
                  annotations: [{x: day(pub), y: 1, yref: "paper", text: "published", showarrow: false, yanchor: "bottom"}]};
    var div = document.createElement("div");
    div.id = "chart-" + slug(A.id[article]) + "-" + slug(symbol) + "-" + article;  // the index: ids that slug alike stay apart
    div.className = "article-chart";
    target.appendChild(div);
    Plotly.newPlot(div, data, layout, {displaylogo: false, responsive: true});
    return true;
  }
  function open(article, row) {
    var next = row.nextSibling;
    if (next && next.className === "detail") { next.parentNode.removeChild(next); return; }
    var detail = document.createElement("tr");
    detail.className = "detail";
    var cell = document.createElement("td");
    cell.colSpan = 6;
    detail.appendChild(cell);
    row.parentNode.insertBefore(detail, row.nextSibling);
    var rows = setupsOf(article), symbols = [];
    rows.forEach(function (i) { symbolsOf(i).forEach(function (s) { if (s && symbols.indexOf(s) < 0) { symbols.push(s); } }); });
    var drawn = 0;
    symbols.slice(0, 4).forEach(function (s) { if (chart(article, s, rows, cell)) { drawn += 1; } });
    if (!drawn) { cell.textContent = "No bars for this article's instruments (or no publication date)."; }
  }
  var body = document.querySelector("#articles tbody"), filter = document.getElementById("article-filter");
  var more = document.getElementById("articles-more"), count = document.getElementById("articles-count");
  var shown = 0, matches = [], PAGE = 50;
  function cellOf(text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) { td.className = cls; } return td; }
  function render(reset) {
    if (reset) {
      body.textContent = ""; shown = 0;
      var needle = filter.value.trim().toLowerCase();
      matches = [];
      for (var i = 0; i < A.id.length; i++) {
        var hay = (A.id[i] + " " + (A.title[i] || "") + " " + (A.stance[i] || "")).toLowerCase();
        if (!needle || hay.indexOf(needle) >= 0) { matches.push(i); }
      }
    }
    matches.slice(shown, shown + PAGE).forEach(function (i) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.className = "title";
      var button = document.createElement("button");
      button.type = "button"; button.className = "open"; button.setAttribute("data-article", A.id[i]);
      button.textContent = A.title[i] || A.id[i];
      button.addEventListener("click", function () { open(i, tr); });
      td.appendChild(button);
      tr.appendChild(td);
      tr.appendChild(cellOf(A.day[i] >= 0 ? day(A.day[i]) : "undated", "text"));
      tr.appendChild(cellOf(A.stance[i] || "–", "text"));
      tr.appendChild(cellOf(A.pulse[i] === null ? "–" : String(A.pulse[i])));
      tr.appendChild(cellOf(String(A.n[i])));
      tr.appendChild(cellOf(pct(A.ret[i]), A.ret[i] > 0 ? "good" : A.ret[i] < 0 ? "bad" : ""));
      body.appendChild(tr);
    });
    shown = Math.min(matches.length, shown + PAGE);
    more.style.display = shown < matches.length ? "" : "none";
    count.textContent = shown + " of " + matches.length + " articles";
  }
  filter.addEventListener("input", function () { render(true); });
  more.addEventListener("click", function () { render(false); });
  render(true);
})();
