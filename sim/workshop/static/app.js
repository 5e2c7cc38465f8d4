// The CPEC crisis sandbox in the browser: draws what the server sends, week by week.
// No library and no network beyond this server: charts and map are drawn on <canvas>.
"use strict";

const COLOURS = {
  attacks: "#f4a582", attacks_mean: "#9c2f10", chinese: "#c1121f", fighters: "#6a4c93",
  capital: "#2a9d8f", patience: "#264653", grievance: "#bc6c25", legitimacy: "#457b9d",
};
const TARGETS = { chinese: "#c1121f", security: "#1d3557", infrastructure: "#5c5c5c" };
const LADDER_SHADES = ["#eef6ec", "#fde2c4", "#f9c0a0", "#f28482"];
const BRANCH_DASH = [[], [6, 4]];
const RECENT_WEEKS = 4;
const LOG_LINES = 60;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
// A number with ``d`` decimals as Python's format(v, ".{d}f") writes it, so that the page and
// cpec-sim compare agree: the exact binary value is rounded (toFixed does so), and an exact
// half goes to the even neighbour (toFixed takes the larger)
function pyFixed(v, d = 0) {
  const x = Number(v);
  if (!Number.isFinite(x)) return String(x);
  const more = Math.min(100, d + 30);
  const exact = x.toFixed(more);
  const tail = exact.slice(exact.length - (more - d));
  if (!/^50*$/.test(tail)) return x.toFixed(d);
  const down = exact.slice(0, exact.length - (more - d)).replace(/\.$/, "");
  const last = Number(down.slice(-1));
  return last % 2 === 0 ? down : x.toFixed(d);
}
// ... grouped in thousands as en-GB writes them
const fmt = (v, d = 0) => Number(pyFixed(v, d)).toLocaleString("en-GB", { maximumFractionDigits: d, minimumFractionDigits: d });

// ---------------------------------------------------------------------------------------
// The world as the page knows it: static data and each branch's weekly deltas.
const world = { view: null, branches: [], majorOnly: false };

function setView(view) {
  world.view = view;
  world.branches = view.branches.map((b) => ({ label: b.label, knobs: b.knobs, history: b.history.slice() }));
  drawAll();
}

function addDeltas(deltas) {
  // deltas: one entry per stepped week, each a list with one delta per branch (or null)
  for (const week of deltas) {
    week.forEach((d, i) => { if (d && world.branches[i]) world.branches[i].history.push(d); });
  }
  drawAll();
}

function latest(i = 0) {
  const h = world.branches[i] ? world.branches[i].history : [];
  return h.length ? h[h.length - 1] : world.view.start;
}

function series(i, metric) {
  return world.branches[i].history.map((d) => d.m[metric]);
}

// ---------------------------------------------------------------------------------------
// Headline and tiles
function drawHeadline() {
  const v = world.view, last = latest(0), st = last.state;
  const week = st.week;
  const start = new Date(Date.UTC(2024, 10, 18 + 7 * Math.max(week - 1, 0)));
  const date = start.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  $("week").innerHTML = `Week <span class="cpec-week-n">${week}</span> of ${v.weeks}` + (week ? ` <span class="cpec-sub">· week of ${date}</span>` : "");
  $("subtitle").textContent = `Scenario ${v.scenario} · seed ${v.seed}` +
    (v.fork_week !== null ? ` · forked at week ${v.fork_week}` : "") +
    (st.running ? "" : " · end of the horizon" + ($("reset") ? ": press Reset to run again" : ""));
  const tiles = [];
  world.branches.forEach((b, i) => {
    const h = b.history, s = latest(i).state;
    const sum = (m) => h.reduce((a, d) => a + d.m[m], 0);
    const killed = sum("chinese_killed");
    const pre = world.branches.length > 1 ? `<div class="cpec-branch">${esc(b.label)}</div>` : "";
    tiles.push(pre + [
      tile("attacks so far", fmt(sum("attacks")), false, "kpi-attacks-" + i),
      tile("Chinese killed", fmt(killed), killed > 0, "kpi-chinese-" + i),
      tile("others killed in attacks", fmt(sum("killed") - killed)),
      tile("fighters", fmt(s.fighters)),
      tile("capital deployed", "$" + fmt(s.capital) + "m"),
      tile("China", `${s.china} (${pyFixed(s.patience, 2)})`, s.level >= 2, "kpi-china-" + i),
      tile("Chinese troops", s.troops ? "on guard" : "no"),
      tile("Iran", s.iran),
      tile("investors", `${s.investing} in · ${s.paused} paused · ${s.withdrawn} gone`, s.withdrawn > 0),
    ].join(""));
  });
  // two branches are one draw each: say so where the gap between them is read
  const caution = world.branches.length > 1
    ? `<p class="cpec-pending" id="fork-caution">A and B are one draw each: a gap between them can be luck. ` +
      "Replicates of both branches (the same settings, other draws) tell what the change does.</p>"
    : "";
  $("kpis").innerHTML = tiles.map((t) => `<div class="cpec-kpis">${t}</div>`).join("") + caution;
}

function tile(key, value, alert = false, id = "") {
  return `<div class="cpec-kpi${alert ? " alert" : ""}"${id ? ` id="${id}"` : ""}><div class="k">${key}</div><div class="v">${esc(value)}</div></div>`;
}

// ---------------------------------------------------------------------------------------
// Charts: six small panels on one canvas, in three columns (two on a narrow screen)
const PANEL_HEIGHT = 215;  // px: the canvas is 430 px high in three columns

function drawCharts() {
  const canvas = $("charts");
  if (!canvas) return;
  // Panels drawing more than one series name them under the title (a box for bars, a
  // stroke for lines).
  const panels = [
    ["Attacks per week", attacksPanel, [["all attacks", COLOURS.attacks, "box"],
      ["on Chinese", COLOURS.chinese, "box"], ["4-week mean", COLOURS.attacks_mean, "line"]]],
    ["Chinese killed (total)", (r) => linesPanel(r, (i) => cumsum(series(i, "chinese_killed")), COLOURS.chinese, 5)],
    ["Militant fighters", (r) => linesPanel(r, (i) => series(i, "fighters"), COLOURS.fighters, 100)],
    ["Capital deployed ($m)", (r) => linesPanel(r, (i) => series(i, "capital_deployed"), COLOURS.capital, 100)],
    ["China's patience", patiencePanel, [["patience", COLOURS.patience, "line"],
      ["a step is left only above", "#999", "dash"]]],
    ["Grievance and legitimacy", (r) => {
      linesPanel(r, (i) => series(i, "grievance"), COLOURS.grievance, 1, 1);
      linesPanel(r, (i) => series(i, "legitimacy"), COLOURS.legitimacy, 1, 1, true);
    }, [["grievance", COLOURS.grievance, "line"], ["legitimacy", COLOURS.legitimacy, "line"]]],
  ];
  const cols = canvas.clientWidth < 560 ? 2 : 3;
  canvas.style.height = (PANEL_HEIGHT * Math.ceil(panels.length / cols)) + "px";
  const ctx = prepare(canvas);
  const W = canvas.clientWidth, H = canvas.clientHeight;
  ctx.clearRect(0, 0, W, H);
  const horizon = world.view.weeks;
  const pw = W / cols, ph = PANEL_HEIGHT;
  ctx.font = "10px sans-serif";
  const legends = panels.map(([, , items]) => legendRows(ctx, items || [], pw - 12));
  const top = 24 + 12 * Math.max(...legends.map((rows) => rows.length));
  panels.forEach(([title, draw], k) => {
    const x0 = (k % cols) * pw, y0 = Math.floor(k / cols) * ph;
    const r = { ctx, x: x0 + 38, y: y0 + top, w: pw - 50, h: ph - top - 30, horizon };
    ctx.fillStyle = "#222"; ctx.font = "bold 12px sans-serif"; ctx.textAlign = "left";
    ctx.fillText(fitted(ctx, title, pw - 12), x0 + 8, y0 + 14);
    drawLegend(ctx, legends[k], x0 + 8, y0 + 27);
    draw(r);
    axes(r);
  });
}

// The places' names, the most populous first, each beside its circle where it covers the
// least of the names already placed and of the circles (right, left, above, below): around
// Quetta they ran together.
function placeLabels(ctx, P, X, Y, radius, W, H) {
  ctx.fillStyle = "#222"; ctx.font = "11px sans-serif"; ctx.textAlign = "left";
  const order = P.name.map((_, i) => i).sort((a, b) => P.population[b] - P.population[a]);
  const placed = P.name.map((_, i) => {
    const r = radius(i);
    return { x: X(P.lon[i]) - r, y: Y(P.lat[i]) - r, w: 2 * r, h: 2 * r };
  });
  const overlap = (a, b) => Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) *
    Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  order.forEach((i) => {
    const name = P.name[i], w = ctx.measureText(name).width, h = 11;
    const cx = X(P.lon[i]), cy = Y(P.lat[i]), r = radius(i);
    const around = [
      { x: cx + r + 2, y: cy - h + 2 }, { x: cx - r - 2 - w, y: cy - h + 2 },
      { x: cx - w / 2, y: cy - r - h - 1 }, { x: cx - w / 2, y: cy + r + 1 },
    ].map((b) => ({ ...b, w, h }));
    const inside = around.filter((b) => b.x >= 0 && b.x + w <= W && b.y >= 0 && b.y + h <= H);
    const boxes = inside.length ? inside : around;  // a name is never left out
    const costs = boxes.map((b) => placed.reduce((sum, p) => sum + overlap(b, p), 0));
    const best = boxes[costs.indexOf(Math.min(...costs))];  // the first of the cheapest
    placed.push(best);
    ctx.fillText(name, best.x, best.y + h - 2);
  });
}

// `text` shortened with an ellipsis to fit `width` pixels in the context's font.
function fitted(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let n = text.length;
  while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > width) n--;
  return text.slice(0, n) + "…";
}

// A legend's items, [label, colour, "box" | "line" | "dash"], laid out in rows of at most `width`.
function legendRows(ctx, items, width) {
  const rows = [];
  let row = [], used = 0;
  items.forEach((item) => {
    const need = 13 + ctx.measureText(item[0]).width + 8;
    if (row.length && used + need > width) { rows.push(row); row = []; used = 0; }
    row.push([...item, used]); used += need;
  });
  if (row.length) rows.push(row);
  return rows;
}

function drawLegend(ctx, rows, x, y) {
  ctx.font = "10px sans-serif"; ctx.textAlign = "left";
  rows.forEach((row, n) => row.forEach(([label, colour, kind, dx]) => {
    const cx = x + dx, cy = y + 12 * n;
    ctx.fillStyle = colour; ctx.strokeStyle = colour; ctx.lineWidth = 2;
    if (kind === "box") ctx.fillRect(cx, cy - 7, 10, 8);
    else {
      if (kind === "dash") { ctx.lineWidth = 1; ctx.setLineDash([3, 3]); }
      ctx.beginPath(); ctx.moveTo(cx, cy - 3); ctx.lineTo(cx + 10, cy - 3); ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = "#444"; ctx.fillText(label, cx + 13, cy);
  }));
}

function cumsum(a) { let s = 0; return a.map((v) => (s += v)); }

function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function axes(r) {
  const { ctx, x, y, w, h, horizon } = r;
  ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.setLineDash([]);
  ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y + h); ctx.lineTo(x + w, y + h); ctx.stroke();
  ctx.fillStyle = "#777"; ctx.font = "10px sans-serif"; ctx.textAlign = "center";
  for (let t = 0; t <= horizon; t += Math.max(1, Math.round(horizon / 4))) {
    ctx.fillText(String(t), x + (t / horizon) * w, y + h + 12);
  }
  ctx.fillText("week", x + w / 2, y + h + 24);
  ctx.textAlign = "right";
  ctx.fillText(fmtAxis(r.ymax), x - 3, y + 8);
  ctx.fillText("0", x - 3, y + h);
  if (world.view.fork_week !== null && world.view.fork_week !== undefined) {
    const fx = x + (world.view.fork_week / horizon) * w;
    ctx.strokeStyle = "#888"; ctx.setLineDash([2, 3]);
    ctx.beginPath(); ctx.moveTo(fx, y); ctx.lineTo(fx, y + h); ctx.stroke(); ctx.setLineDash([]);
  }
}

function fmtAxis(v) { return v >= 1000 ? (v / 1000).toFixed(1) + "k" : (v >= 10 ? v.toFixed(0) : v.toFixed(1)); }

function attacksPanel(r) {
  const { ctx, x, y, w, h, horizon } = r;
  const all = series(0, "attacks"), cn = series(0, "attacks_on_chinese");
  let ymax = 8;
  world.branches.forEach((_, i) => series(i, "attacks").forEach((v) => (ymax = Math.max(ymax, v * 1.15))));
  r.ymax = ymax;
  const bw = w / horizon;
  all.forEach((v, k) => {
    ctx.fillStyle = COLOURS.attacks; ctx.fillRect(x + k * bw, y + h - (v / ymax) * h, Math.max(bw - 0.5, 0.5), (v / ymax) * h);
    ctx.fillStyle = COLOURS.chinese; ctx.fillRect(x + k * bw, y + h - (cn[k] / ymax) * h, Math.max(bw - 0.5, 0.5), (cn[k] / ymax) * h);
  });
  world.branches.forEach((_, i) => {
    const a = series(i, "attacks");
    const mean = a.map((_, k) => { const s = a.slice(Math.max(0, k - 3), k + 1); return s.reduce((p, q) => p + q, 0) / s.length; });
    path(r, mean, COLOURS.attacks_mean, ymax, i);
  });
}

function patiencePanel(r) {
  const { ctx, x, y, w, h } = r;
  const e = world.view.static.ladder_edges;
  for (let k = 0; k < 4; k++) {
    ctx.fillStyle = LADDER_SHADES[k];
    ctx.fillRect(x, y + (1 - e[k]) * h, w, (e[k] - e[k + 1]) * h);
  }
  // China steps back down only once patience is above a threshold plus its hysteresis:
  // between the two the tile keeps the higher step while the line is in the lower band
  const down = world.view.static.ladder_down || [];
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
  down.forEach((v) => { ctx.beginPath(); ctx.moveTo(x, y + (1 - v) * h); ctx.lineTo(x + w, y + (1 - v) * h); ctx.stroke(); });
  ctx.setLineDash([]);
  ctx.fillStyle = "#666"; ctx.font = "9px sans-serif";
  ctx.textAlign = "right";
  for (let k = 0; k < 4; k++) {
    if (e[k] - e[k + 1] > 0.06) ctx.fillText(world.view.static.ladder[k], x + w - 2, y + (1 - (e[k] + e[k + 1]) / 2) * h + 3);
  }
  linesPanel(r, (i) => series(i, "china_patience"), COLOURS.patience, 1, 1);
}

function linesPanel(r, get, colour, floor, fixed = 0, keep = false) {
  let ymax = fixed || floor;
  if (!fixed) world.branches.forEach((_, i) => get(i).forEach((v) => (ymax = Math.max(ymax, v * 1.2))));
  if (!keep) r.ymax = ymax;
  world.branches.forEach((_, i) => path(r, get(i), colour, r.ymax || ymax, i));
}

function path(r, values, colour, ymax, branch) {
  const { ctx, x, y, w, h, horizon } = r;
  ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.setLineDash(BRANCH_DASH[branch] || []);
  ctx.beginPath();
  values.forEach((v, k) => {
    const px = x + ((k + 1) / horizon) * w, py = y + h - Math.min(v / ymax, 1) * h;
    if (k === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
  ctx.stroke(); ctx.setLineDash([]);
}

// ---------------------------------------------------------------------------------------
// The map: places at their longitude and latitude, coloured by grievance
function drawMap() {
  const canvas = $("map");
  if (!canvas) return;
  const ctx = prepare(canvas);
  const W = canvas.clientWidth, H = canvas.clientHeight;
  const st = world.view.static, P = st.places;
  const lon0 = 60.6, lon1 = 74.6, lat0 = 23.4, lat1 = 36.2;
  const k = 1 / Math.cos((30 * Math.PI) / 180);  // a degree of latitude is longer than one of longitude here
  const s = Math.min(W / (lon1 - lon0), H / ((lat1 - lat0) * k));
  const ox = (W - (lon1 - lon0) * s) / 2, oy = (H - (lat1 - lat0) * s * k) / 2;
  const X = (lon) => ox + (lon - lon0) * s, Y = (lat) => H - oy - (lat - lat0) * s * k;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#dbe9f4";
  ctx.beginPath(); st.coast.forEach(([a, b], k) => (k ? ctx.lineTo(X(a), Y(b)) : ctx.moveTo(X(a), Y(b))));
  ctx.lineTo(X(67.6), Y(23.0)); ctx.lineTo(X(60.0), Y(23.0)); ctx.closePath(); ctx.fill();
  ctx.strokeStyle = "#9a8c98"; ctx.setLineDash([6, 3]); ctx.lineWidth = 1.5;
  ctx.beginPath(); st.iran_border.forEach(([a, b], k) => (k ? ctx.lineTo(X(a), Y(b)) : ctx.moveTo(X(a), Y(b)))); ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = "italic 12px sans-serif"; ctx.fillStyle = "#9a8c98";
  ctx.fillText("IRAN", X(61.0), Y(28.0)); ctx.fillText("PAKISTAN", X(65.3), Y(31.4));
  const last = latest(0);
  const maxPop = Math.max(...P.population);
  const radius = (i) => 5 + 14 * Math.sqrt(P.population[i] / maxPop);
  P.name.forEach((name, i) => {
    ctx.beginPath(); ctx.arc(X(P.lon[i]), Y(P.lat[i]), radius(i), 0, 2 * Math.PI);
    ctx.fillStyle = grievanceColour(last.grievance[i] / st.grievance_max); ctx.fill();
    const cn = last.nationals[i];
    ctx.lineWidth = cn > 0 ? 1 + 0.8 * Math.log10(Math.max(cn, 1)) : 0.8;
    ctx.strokeStyle = cn > 0 ? "#0077b6" : "#444"; ctx.stroke();
  });
  placeLabels(ctx, P, X, Y, radius, W, H);
  const hist = world.branches[0] ? world.branches[0].history : [];
  const now = last.state.week;
  for (let k = Math.max(0, hist.length - RECENT_WEEKS); k < hist.length; k++) {
    hist[k].events.forEach((e, j) => {
      const [week, target, place, killed, , interdicted] = e;
      if (interdicted) return;
      const jx = Math.sin(j * 12.9898 + week) * 6, jy = Math.cos(j * 78.233 + week) * 6;
      ctx.globalAlpha = 1 - 0.2 * (now - week);
      const size = 3 + Math.min(killed, 20) * 0.5 + (target === "chinese" ? 3 : 0);
      marker(ctx, target, X(P.lon[place]) + jx, Y(P.lat[place]) + jy, size);
      ctx.globalAlpha = 1;
    });
  }
}

// Stars for attacks on Chinese nationals, triangles on security forces, diamonds on
// infrastructure (as in the plots of `cpec-sim plot`).
function marker(ctx, target, x, y, r) {
  ctx.fillStyle = TARGETS[target] || "#000";
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 0.8;
  ctx.beginPath();
  if (target === "chinese") {
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + (k * Math.PI) / 5, rr = k % 2 ? r * 0.45 : r * 1.2;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
  } else if (target === "security") {
    ctx.moveTo(x, y - r); ctx.lineTo(x + r * 0.9, y + r * 0.7); ctx.lineTo(x - r * 0.9, y + r * 0.7);
  } else {
    ctx.moveTo(x, y - r); ctx.lineTo(x + r * 0.8, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r * 0.8, y);
  }
  ctx.closePath(); ctx.fill(); ctx.stroke();
}

function grievanceColour(t) {
  t = Math.max(0, Math.min(1, t));
  const stops = [[255, 255, 229], [254, 227, 145], [254, 153, 41], [204, 76, 2], [102, 37, 6]];
  const p = t * (stops.length - 1), k = Math.min(Math.floor(p), stops.length - 2), f = p - k;
  const c = stops[k].map((v, j) => Math.round(v + f * (stops[k + 1][j] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// ---------------------------------------------------------------------------------------
// The log of events in words, newest first
function drawLog() {
  const box = $("log");
  if (!box) return;
  const lines = [];
  const hist = world.branches[0] ? world.branches[0].history : [];
  for (let k = hist.length - 1; k >= 0 && lines.length < LOG_LINES; k--) {
    const rows = hist[k].log.slice().reverse();
    for (const [, text, kind] of rows) {
      if (world.majorOnly && kind === "attack") continue;
      lines.push(`<div class="${kind}">${esc(text)}</div>`);
    }
  }
  box.innerHTML = lines.length ? lines.join("") : "<div class='cpec-sub'>Press Step or Play to start the clock.</div>";
}

// The map and the log follow the first branch: after a fork their titles say so.
function titleBranch() {
  for (const id of ["map-title", "log-title"]) {
    const el = $(id);
    if (!el) continue;
    if (!el.dataset.plain) el.dataset.plain = el.textContent;
    el.textContent = el.dataset.plain + (world.branches.length > 1 ? " (branch A)" : "");
  }
}

function drawAll() {
  if (!world.view) return;
  drawHeadline(); drawCharts(); drawMap(); drawLog(); titleBranch();
  if ($("reproduce")) $("reproduce").textContent = world.view.reproduce;
  if ($("reproduce-what")) {  // a command cannot change settings mid-run, as a fork does
    const fork = world.view.fork_week;
    $("reproduce-what").textContent = fork == null
      ? "In a terminal, this runs the same settings 100 times:"
      : fork === 0
        ? "In a terminal, this runs branch A's settings 100 times, the replicates of branch A's column (add branch B's change for B's):"
        : `In a terminal, this runs branch A's settings 100 times from week 0 (no command changes settings at week ${fork}, as branch B does: "Run 100 replicates" runs both from the fork, sharing this run's first ${fork} weeks):`;
  }
  if (window.onDraw) window.onDraw();
}

window.addEventListener("resize", () => { if (world.view) { drawCharts(); drawMap(); } });

// ---------------------------------------------------------------------------------------
// The connection
const conn = { ws: null, handlers: {}, open: false, reconnect: true };

function disconnect() {
  conn.reconnect = false;
  if (conn.ws) conn.ws.close();
}

function connect(first, handlers) {
  conn.handlers = handlers;
  conn.reconnect = true;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  const ws = new WebSocket(url);
  conn.ws = ws;
  ws.onopen = () => { conn.open = true; ws.send(JSON.stringify(first())); setStatus(""); };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    const h = conn.handlers[msg.type];
    if (h) h(msg);
    else if (msg.type === "error") setStatus(msg.message, true);
  };
  ws.onclose = () => {
    if (conn.ws !== ws) return;
    conn.open = false;
    if (!conn.reconnect) return;
    setStatus("Connection lost: reconnecting…", true);
    setTimeout(() => { if (conn.reconnect && conn.ws === ws) connect(first, handlers); }, 1000);
  };
}

function send(msg) { if (conn.open) conn.ws.send(JSON.stringify(msg)); }

function setStatus(text, bad = false) {
  const el = $("status");
  if (!el) return;
  el.textContent = text; el.className = bad ? "cpec-notice" : "cpec-sub";
}

// ---------------------------------------------------------------------------------------
// Controls built from the server's specs
// What a scenario holds, setting by setting (its notes), from the hello's list of scenarios.
function notesOf(scenarios, name) {
  return (scenarios.find((x) => x.name === name) || {}).notes || {};
}

// A control; under it, when the setting acts (``spec.acts_when``) and ``note`` (what the
// scenario holds). A slider reaches any allowed value it is given (a link may carry one
// beyond its usual window), on a step fine enough to hold it exactly.
function controlHtml(spec, value, prefix, note = "") {
  const id = prefix + spec.name;
  const help = spec.help ? ` title="${esc(spec.help)}"` : "";
  const when = (spec.acts_when ? `<span class="cpec-when">Acts ${esc(spec.acts_when)}.</span>` : "") +
    (note ? `<span class="cpec-when">${esc(note)}</span>` : "");
  if (spec.kind === "bool") {
    return `<label class="cpec-control"${help}><input type="checkbox" id="${id}" data-name="${spec.name}" ${value ? "checked" : ""}> ${esc(spec.label)}${when}</label>`;
  }
  if (spec.kind === "choice") {
    const opts = spec.choices.map((c) => `<option ${c === value ? "selected" : ""}>${esc(c)}</option>`).join("");
    return `<label class="cpec-control"${help}>${esc(spec.label)}<select id="${id}" data-name="${spec.name}">${opts}</select>${when}</label>`;
  }
  const v = Number(value);
  const lo = Math.min(spec.lo, v), hi = Math.max(spec.hi, v);
  const onGrid = Math.abs((v - lo) / spec.step - Math.round((v - lo) / spec.step)) < 1e-9;
  const step = onGrid ? spec.step : "any";  // off the grid: any value, not a 1e-10 grid
  return `<label class="cpec-control"${help}>${esc(spec.label)} <b id="${id}-v">${value}</b>` +
    `<input type="range" id="${id}" data-name="${spec.name}" min="${lo}" max="${hi}" step="${step}" value="${value}">${when}</label>`;
}


function readControl(el) {
  if (el.type === "checkbox") return el.checked;
  if (el.type === "range") return Number(el.value);
  return el.value;
}

function bindControls(container, onChange) {
  container.querySelectorAll("[data-name]").forEach((el) => {
    const handler = () => {
      const v = readControl(el);
      const out = $(el.id + "-v");
      if (out) out.textContent = v;
      onChange(el.dataset.name, v, el);
    };
    el.addEventListener(el.type === "range" ? "change" : "change", handler);
    if (el.type === "range") el.addEventListener("input", () => { const out = $(el.id + "-v"); if (out) out.textContent = el.value; });
  });
}

// ---------------------------------------------------------------------------------------
// Replicates: a table of medians (means, beside a difference of means) and the middle 90%
// of the runs, per branch and the difference, and where the run on screen landed among them.
// The outcomes the replicates and the debrief show, in words.
const OUTCOME_NAMES = {
  chinese_killed: "Chinese killed", attacks_total: "attacks", security_killed: "security forces killed",
  civilians_killed: "civilians killed (attacks, operations, strikes)", militants_killed: "militants killed",
  fighters_final: "fighters at the end", grievance_final: "grievance at the end (0-1)", legitimacy_final: "legitimacy at the end (0-1)",
  capital_deployed_final: "capital deployed at the end ($m)", investors_withdrawn: "investors withdrawn",
};
// How many outcomes a table shows (and Holm's correction counts).
const OUTCOMES_SHOWN = Object.keys(OUTCOME_NAMES).length;

function replicatesHtml(res) {
  const centre = res.difference ? "mean" : "median";
  const cell = (o) => { const [m, iv] = interval(o, centre); return `${m} <span class="cpec-sub">${iv}</span>`; };
  const landed = (o) => `${pyAlone(o.played)} <span class="cpec-sub">(${ordinal(Number(pyFixed(o.percentile)))} percentile)</span>${shares(o)}`;
  const head = res.branches.map((b) => `<th>${esc(b.label)}</th>`).join("") +
    (res.difference ? "<th>B − A: mean [95%]</th>" : "") + (res.played ? "<th>the run on screen</th>" : "");
  const rows = Object.keys(OUTCOME_NAMES).map((c) => `<tr><td>${OUTCOME_NAMES[c]}</td>` +
    res.branches.map((b) => `<td>${cell(b.outcomes[c])}</td>`).join("") +
    (res.difference ? `<td>${difference(res.difference[c])}</td>` : "") +
    (res.played ? `<td>${landed(res.played[c])}</td>` : "") + "</tr>").join("");
  const since = res.from_week > 0 ? " since the fork" : "";
  const held = res.replayed ? `; the seats' ${res.replayed} decision(s)${since} replayed at their weeks, then held` : "";
  const what = res.settings ? ` of ${esc(res.settings)}` : "";
  const notOne = "The run on screen is not one of them (replicate i draws from a seed made of the seed and i, as cpec-sim run does)";
  const screen = res.difference ? ""
    : res.decided ? " The seats' decisions are not in these runs: the model decides throughout. The Debrief sets the room's run against them."
    : res.played ? ` ${notOne}: its percentile says how typical a story it told.`
    : res.played_week < res.weeks ? ` ${notOne}: at the horizon, run replicates again to see where it landed.`
    : ` ${notOne}.`;
  return `<p>${res.n} replicates${what} from week ${res.from_week} to the horizon: ${centre} [the middle 90% of runs]` +
    (res.difference ? `${held}. B − A is the mean difference with its 95% interval (* where it holds after Holm's correction for the ${OUTCOMES_SHOWN} outcomes: the settings made a difference beyond the luck of the draw); ` +
      "a single pair of runs, like the two branches above, is one draw of each" : "") +
    `.${screen}</p><table class="cpec-table" id="replicates-table"><tr><th>outcome</th>${head}</tr>${rows}</table>`;
}

// The debrief: the room's run, the model alone and the decisions replayed, outcome by outcome
// (the facilitator's page, and its export).
function debriefHtml(res) {
  const rows = Object.keys(OUTCOME_NAMES).map((c) => {
    const o = res.outcomes[c];
    return `<tr><td>${OUTCOME_NAMES[c]}</td><td><b>${pyAlone(o.played)}</b></td><td>${interval(o).join(" ")}</td>` +
      `<td>${interval(o.decisions).join(" ")}</td><td>${difference(o.effect)}</td>` +
      `<td>${ordinal(Number(pyFixed(o.decisions.percentile)))} percentile${shares(o.decisions)}</td></tr>`;
  }).join("");
  return `<p>At week ${res.week}: ${res.replicates} runs of the model alone from the same settings, and ${res.replicates} with the room's decisions replayed at the weeks they were made (the same seeds).</p>` +
    `<table class="cpec-table" id="debrief-table"><tr><th>outcome</th><th>your room</th><th>model alone: median [90% of runs]</th><th>your decisions replayed: median [90% of runs]</th><th>what the decisions did: mean [95%]</th><th>your run among the replayed</th></tr>${rows}</table>` +
    `<p class="cpec-sub">One run cannot say what the decisions did: a room that decides nothing lands anywhere from the 0th to the 100th percentile of the model alone. ` +
    `"What the decisions did" is the mean difference, replayed minus model alone, with its 95% interval (* where it holds after Holm's correction for the ${OUTCOMES_SHOWN} outcomes). ` +
    `The percentile is the share of replayed runs below your room's value, ties counted half, and the line under it says how many were lower, equal and higher. Whether that was luck depends on the outcome: fewer deaths and attacks, more capital; and where many runs tie (0 Chinese killed, say) the best possible value sits at a low percentile. Replayed decisions are the same moves in other histories; the room made them in its own.</p>` +
    `<p>Saved: <code>${esc(res.played)}</code>, <code>${esc(res.model)}</code> and <code>${esc(res.decisions)}</code>. In a terminal (the same intervals; its stars count every stored outcome, so they are rarer):</p><div class="cpec-cmd">${esc(res.command)}</div>`;
}

// Where a value landed among runs: the shares of them lower, equal and higher (a percentile
// alone hides ties: 0 Chinese killed, the best value, can be the 8th percentile).
function shares(o) {
  if (o.below === undefined) return "";
  return `<br><span class="cpec-sub">runs lower ${pyFixed(o.below)}%, equal ${pyFixed(o.equal)}%, higher ${pyFixed(o.above)}%</span>`;
}

// 1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st, 22nd, ...
function ordinal(n) {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return n + (teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"));
}

// A mean difference and its 95% interval with the same decimals, as cpec-sim compare prints
// them (``pyDecimals``), a star where it holds after Holm's correction; "0.0" rather than "-0.0".
function difference(o) {
  if (typeof o.mean !== "number" || !Number.isFinite(o.mean)) return "–";  // as fmt_ci
  const d = pyDecimals([o.mean, o.lo, o.hi]);
  const num = (v) => pyNumber(v, d);
  const sign = o.mean > 0 && num(o.mean) !== fmt(0, d) ? "+" : "";
  return `${sign}${num(o.mean)} <span class="cpec-sub">[${num(o.lo)}, ${num(o.hi)}]</span>${o.clear ? " *" : ""}`;
}

// The decimals of numbers shown together, as cpec-sim compare chooses them
// (sim.analysis.compare.fmt_numbers), so that the debrief and the command it prints show the
// same intervals: none when all are whole, else about three significant digits of the largest,
// less the trailing zeros they all share.
function pyDecimals(values) {
  const known = values.filter(Number.isFinite);
  if (known.every((v) => v === Math.round(v) && Math.abs(v) < 1e9)) return 0;
  const largest = Math.max(...known.map(Math.abs));
  const d = largest >= 1000 ? 0 : largest >= 100 ? 1 : 2 - Math.floor(largest > 0 ? Math.log10(largest) : 0);
  let decimals = Math.min(Math.max(d, 0), 6);
  while (decimals > 0 && known.every((v) => pyFixed(v, decimals).endsWith("0"))) decimals -= 1;
  return decimals;
}

// A number with ``d`` decimals as compare shows it: "0.00", not "-0.00"; "–" if missing.
function pyNumber(v, d) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const t = fmt(v, d);
  return /^-[0.,]*$/.test(t) ? t.slice(1) : t;
}

// A number shown alone, as compare's median column shows it (fmt_number): its own decimals,
// without trailing zeros ("2.5", "0").
function pyAlone(v) {
  const t = pyNumber(v, pyDecimals([v]));
  return t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t;
}

// A median (or ``centre``) and its interval as text, [median, "[lo, hi]"], as compare prints
// them: the median alone (``pyAlone``), the interval's ends with the same decimals.
function interval(o, centre = "median") {
  const d = pyDecimals([o.lo, o.hi]);
  return [pyAlone(o[centre]), `[${pyNumber(o.lo, d)}, ${pyNumber(o.hi, d)}]`];
}

window.CPEC = { pyFixed, pyDecimals, pyAlone, OUTCOME_NAMES, OUTCOMES_SHOWN, debriefHtml, ordinal, interval, difference, world, setView, addDeltas, connect, disconnect, send, setStatus, controlHtml, notesOf, bindControls, readControl, replicatesHtml, drawAll, esc, fmt, $ };
