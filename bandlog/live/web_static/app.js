// bandlog live view in the browser: reads frames from /ws, draws them, and sends only set ratings.
// No libraries. A frame holds the samples that arrived since the last one and the changed state;
// a "full" frame (on every (re)connect) replaces everything. Times are device seconds; the plot's x
// axis is "seconds before now" as in the window view.
"use strict";

const ENDED_REASON = "the recording ended";
const MAX_LATENCIES = 5000;

const view = {
  state: {},
  force: { t: [], v: [] },
  knee: { t: [], v: [] },
  nowS: null,
  windowS: 20,
  arrivals: [],          // arrived_ms of frames received but not drawn yet
  latencies: [],         // ms from a sample reaching the sink to the end of its draw
  drawQueued: false,
  selected: { rpe: null, pain: null },
  retryMs: 500,
  ended: false,
};

const $ = (id) => document.getElementById(id);

function replaceSeries(series, incoming) {
  series.t = incoming.t.slice();
  series.v = incoming.v.slice();
}

function appendSeries(series, incoming) {
  for (let i = 0; i < incoming.t.length; i++) {
    series.t.push(incoming.t[i]);
    series.v.push(incoming.v[i]);
  }
}

function trimSeries(series, oldestS) {
  let k = 0;
  while (k < series.t.length && series.t[k] < oldestS) k++;
  if (k > 0) {
    series.t.splice(0, k);
    series.v.splice(0, k);
  }
}

function applyFrame(frame) {
  if (frame.full) view.state = {};
  Object.assign(view.state, frame.state);
  if (frame.now_s !== null) view.nowS = frame.now_s;
  view.windowS = frame.window_s;
  if (frame.full || frame.force.reset) replaceSeries(view.force, frame.force); else appendSeries(view.force, frame.force);
  if (frame.knee.reset) replaceSeries(view.knee, frame.knee); else appendSeries(view.knee, frame.knee);
  if (view.nowS !== null) {
    trimSeries(view.force, view.nowS - view.windowS - 1);
    trimSeries(view.knee, view.nowS - view.windowS - 1);
  }
  if (frame.arrived_ms) view.arrivals.push(frame.arrived_ms[0]);
  if (!view.drawQueued) {
    view.drawQueued = true;
    requestAnimationFrame(draw);
  }
}

// --- drawing ---

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function range(values, floor) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, floor];
  if (hi - lo < floor) {
    const mid = (hi + lo) / 2;
    lo = mid - floor / 2;
    hi = mid + floor / 2;
  }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

function floorOf(key) {
  const floors = view.state.floors;
  return floors ? floors[key] : 1;
}

function wrapText(ctx, text, width) {
  // lines of whole words no wider than `width` in the context's current font
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function drawPanel(ctx, box, series, colour, label, floor, spans, palette, note) {
  const { x, y, w, h } = box;
  const nowS = view.nowS ?? 0;
  const xOf = (t) => x + w * (1 - (nowS - t) / view.windowS);
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  for (const [start, end, outcome] of spans) {
    const x0 = Math.max(x, xOf(start));
    const x1 = xOf(end === null ? nowS : end);
    if (x1 <= x0) continue;
    ctx.globalAlpha = 0.3;
    ctx.fillStyle = (palette && palette[outcome]) || "#56b4e9";
    ctx.fillRect(x0, y, x1 - x0, h);
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = cssVar("--grid");
  ctx.lineWidth = 1;
  for (let s = 0; s <= view.windowS; s += 5) {
    const gx = Math.round(x + w * (1 - s / view.windowS)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(gx, y);
    ctx.lineTo(gx, y + h);
    ctx.stroke();
  }
  const [lo, hi] = range(series.v, floor);
  const yOf = (v) => y + h * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2.5;
  ctx.lineJoin = "round";
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < series.t.length; i++) {
    const v = series.v[i];
    if (v === null) { pen = false; continue; }
    const px = xOf(series.t[i]), py = yOf(v);
    if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.stroke();
  ctx.restore();
  ctx.fillStyle = cssVar("--muted");
  ctx.font = "14px system-ui, sans-serif";
  ctx.fillText(series.t.length ? label : `${label}: no data`, x + 6, y + 16);
  ctx.fillText(hi.toFixed(0), x + w - 40, y + 16);
  ctx.fillText(lo.toFixed(0), x + w - 40, y + h - 6);
  if (note) {  // e.g. no band on yet: the line is the load cell's noise, not band force
    ctx.font = "16px system-ui, sans-serif";
    const noteW = ctx.measureText(note).width;
    ctx.fillStyle = cssVar("--panel");
    ctx.fillRect(x + (w - noteW) / 2 - 6, y + h / 4 - 16, noteW + 12, 24);  // above the noise, which sits mid-panel
    ctx.fillStyle = cssVar("--muted");
    ctx.fillText(note, x + (w - noteW) / 2, y + h / 4);
  }
}

function drawPlot() {
  const canvas = $("plot");
  const ratio = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
  if (canvas.width !== Math.round(cssW * ratio) || canvas.height !== Math.round(cssH * ratio)) {
    canvas.width = Math.round(cssW * ratio);
    canvas.height = Math.round(cssH * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const spans = view.state.spans || [];
  const palette = view.state.palette ? view.state.palette.spans : null;
  const axisH = 18, gap = 8;
  const panelH = (cssH - axisH - gap) / 2;
  const noBand = view.state.force_note;  // no band pulls yet: the line is the load cell's noise, greyed
  drawPanel(ctx, { x: 0, y: 0, w: cssW, h: panelH }, view.force, cssVar(noBand ? "--muted" : "--force"), "force (N)",
    floorOf("force"), spans, palette, noBand);
  const kind = view.state.knee_kind;
  const angleLabel = view.state.angle_label || "angle";
  if (kind) {
    drawPanel(ctx, { x: 0, y: panelH + gap, w: cssW, h: panelH }, view.knee, cssVar("--knee"), angleLabel,
      floorOf(kind), spans, palette);
  } else {
    ctx.fillStyle = cssVar("--muted");
    ctx.font = "16px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(`${angleLabel}: no estimate yet`, cssW / 2, panelH + gap + panelH / 2 - 10);
    ctx.font = "12px system-ui, sans-serif";  // why (the exercise's lead-in reason), after "no estimate yet: "
    const reason = (view.state.angle_note || "").replace(/^no estimate yet: /, "");
    wrapText(ctx, reason, cssW - 24).forEach((line, k) => ctx.fillText(line, cssW / 2, panelH + gap + panelH / 2 + 12 + 15 * k));
    ctx.textAlign = "start";
  }
  ctx.fillStyle = cssVar("--muted");
  ctx.font = "13px system-ui, sans-serif";
  for (let s = 0; s <= view.windowS; s += 5) {
    const gx = cssW * (1 - s / view.windowS);
    ctx.fillText(s === 0 ? "now" : `-${s} s`, Math.min(Math.max(gx - 12, 2), cssW - 30), cssH - 4);
  }
}

function known(value) {
  return value !== null && value !== undefined;
}

function isLight(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return true;
  const [r, g, b] = m.slice(1).map((c) => parseInt(c, 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 160;
}

function drawTexts() {
  const s = view.state;
  const timer = s.timer;
  if (timer) {
    const box = $("timer");
    box.dataset.state = timer.state;
    const colour = s.palette ? s.palette.timer[timer.state] : null;
    if (colour) {
      box.style.background = colour;
      box.dataset.light = String(isLight(colour));
    }
    $("timer-value").textContent = timer.state === "idle" ? "--" : `${timer.elapsed_s.toFixed(1)} s`;
    $("timer-target").textContent = `eccentric · target ${timer.target_s.toFixed(1)} s`;
  }
  $("reps").textContent = String(s.reps ?? 0);
  $("last-rep").textContent = s.last_rep || "last rep: --";
  $("link").textContent = s.link || "waiting for data";
  $("link-dot").dataset.state = s.link_state || "";
  const coach = s.coach || {};
  const coachBox = $("coach");
  if (known(coach.set)) {
    const sets = coach.sets_planned ? `/${coach.sets_planned}` : "";
    const reps = known(coach.rep) ? ` · rep ${coach.rep}${coach.reps_planned ? "/" + coach.reps_planned : ""}` : "";
    const leg = coach.leg ? ` · ${coach.leg} leg` : "";
    coachBox.textContent = `${coach.resting ? "next: " : ""}set ${coach.set}${sets}${coach.resting ? "" : reps}${leg}`;
    coachBox.hidden = false;
  } else {
    coachBox.hidden = true;
  }
  const rest = $("rest");
  if (coach.resting && known(coach.rest_left_s)) {
    rest.textContent = coach.rest_left_s > 0 ? `rest: ${Math.ceil(coach.rest_left_s)} s left` : "rest over: go!";
    rest.hidden = false;
  } else if (s.rest && known(s.rest.since_rep_s)) {
    rest.textContent = `rest ${s.rest.since_rep_s.toFixed(0)} s`;
    rest.hidden = false;
  } else {
    rest.hidden = true;
  }
  const notes = $("notes");
  const wanted = (s.notes || []).join("\n");
  if (notes.dataset.shown !== wanted) {
    notes.replaceChildren(...(s.notes || []).map((n) => {
      const li = document.createElement("li");
      li.textContent = n;
      return li;
    }));
    notes.dataset.shown = wanted;
  }
  const summary = $("summary");
  if (s.ended && s.summary) {
    const tension = s.summary.tut_tension_s === null ? "--" : `${s.summary.tut_tension_s.toFixed(1)} s`;
    summary.textContent = `set done: ${s.summary.reps} reps · eccentric TUT ${s.summary.tut_ecc_s.toFixed(1)} s · tension ${tension}`;
    summary.hidden = false;
  } else {
    summary.hidden = true;
  }
  $("rate-set").textContent = String(rateSet());
}

function recordLatency(drawnMs) {
  for (const arrived of view.arrivals) view.latencies.push(drawnMs - arrived);
  view.arrivals = [];
  if (view.latencies.length > MAX_LATENCIES) view.latencies.splice(0, view.latencies.length - MAX_LATENCIES);
  const sorted = view.latencies.slice().sort((a, b) => a - b);
  const n = sorted.length;
  if (!n) return;
  const el = $("latency");
  el.dataset.n = String(n);
  el.dataset.medianMs = sorted[Math.floor((n - 1) / 2)].toFixed(1);
  el.dataset.p95Ms = sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)].toFixed(1);
}

function draw() {
  view.drawQueued = false;
  drawPlot();
  drawTexts();
  if (view.arrivals.length) recordLatency(Date.now());
}

// --- rating ---

function rateSet() {
  const coach = view.state.coach || {};
  return coach.rate_set ?? 1;
}

function buildScale(id, key) {
  const box = $(id);
  for (let n = 0; n <= 10; n++) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = String(n);
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => {
      view.selected[key] = view.selected[key] === n ? null : n;
      for (const other of box.children) other.setAttribute("aria-pressed", String(other === b && view.selected[key] === n));
      $("send").disabled = view.selected.rpe === null && view.selected.pain === null;
    });
    box.appendChild(b);
  }
}

function showStatus(text, kind) {
  const status = $("rating-status");
  status.textContent = text;
  status.dataset.kind = kind;
}

function sendRating() {
  if (!view.socket || view.socket.readyState !== WebSocket.OPEN) {
    showStatus("not connected: try again in a moment", "bad");
    return;
  }
  const message = { rating: { set: rateSet(), rpe: view.selected.rpe, pain: view.selected.pain } };
  view.socket.send(JSON.stringify(message));
  showStatus("saving…", "");
}

function onReply(message) {
  if (message.type === "ack") {
    const r = message.rating;
    const parts = [r.rpe === null ? null : `RPE ${r.rpe}`, r.pain === null ? null : `pain ${r.pain}`].filter(Boolean);
    showStatus(`✓ set ${r.set} saved: ${parts.join(", ")}`, "ok");
  } else if (message.type === "refused") {
    showStatus(`not saved: ${message.reason}`, "bad");
  }
}

// --- connection ---

function banner(text) {
  const b = $("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws${location.search}`);
  view.socket = socket;
  socket.onopen = () => {
    view.retryMs = 500;
    banner("");
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "frame") applyFrame(message); else onReply(message);
  };
  socket.onclose = (event) => {
    if (event.reason === ENDED_REASON) {
      view.ended = true;
      banner("recording ended");
      return;
    }
    banner("connection lost: reconnecting…");
    $("link-dot").dataset.state = "offline";
    setTimeout(connect, view.retryMs);
    view.retryMs = Math.min(view.retryMs * 2, 5000);
  };
}

buildScale("rpe", "rpe");
buildScale("pain", "pain");
$("send").addEventListener("click", sendRating);
window.addEventListener("resize", () => requestAnimationFrame(draw));
connect();
