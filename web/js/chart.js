// SVG charts of our own: points and lines on linear, log or category axes.
import { h, s, numberText } from "./dom.js";

// The drawing is sized in CSS pixels from the width of its box (opts.width),
// so that its text stays readable on a phone.
let W = 640;
let H = 300;
const M = { l: 60, r: 14, t: 12, b: 42 };

// niceTicks(lo, hi, n): about n round values covering [lo, hi].
// Values apart by less than this share of their size (0.3 and 0.1 + 0.2) are
// drawn as one: ticks between them could not be told apart in 12 digits, and
// a step below the values' precision would not move from one to the next.
const FLAT = 1e-9;

const MAX = Number.MAX_VALUE;

// clamp(x): x within the finite doubles (a margin added to a value near
// ±1.8e308 is past them).
const clamp = (x) => Math.min(MAX, Math.max(-MAX, x));

// half(a, b): (b - a) / 2, which does not overflow for any finite a and b.
const half = (a, b) => b / 2 - a / 2;

function niceTicks(lo, hi, n = 5, integer = false) {
  if (!(half(lo, hi) > Math.max(Math.abs(lo), Math.abs(hi)) * (FLAT / 2))) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo = clamp(lo - d);
    hi = clamp(hi + d);
  }
  const raw = (half(lo, hi) / n) * 2;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  if (!(mag > 0 && Number.isFinite(mag))) return lo === hi ? [lo] : [lo, hi];
  let step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((st) => st >= raw) || 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const start = Math.floor(lo / step) * step;
  const ticks = [];
  // by count, not by adding up: at most n + 2 of them whatever the rounding;
  // none past the finite doubles
  for (let i = 0; i <= n + 2 && start + i * step <= hi + step * 0.5; i++) {
    const t = Number((start + i * step).toPrecision(12));
    if (Number.isFinite(t)) ticks.push(t);
  }
  return ticks.length ? ticks : [lo, hi];
}

function logTicks(lo, hi) {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const ticks = [];
  for (let e = a; e <= b; e++) {
    ticks.push(Math.pow(10, e));
    if (b - a <= 2) ticks.push(2 * Math.pow(10, e), 5 * Math.pow(10, e));
  }
  const top = Math.pow(10, b) * 1.0000001;
  // 10^309 is past the doubles and 10^-324 below them: no tick there
  return ticks
    .filter((t) => t <= top)
    .map((t) => Number(t.toPrecision(12)))
    .filter((t) => t > 0 && Number.isFinite(t))
    .sort((x, y) => x - y);
}

// axis(values, kind, px0, px1): {map, ticks, label} for kind "linear", "log" or "category".
function axis(values, kind, px0, px1, categories, integer) {
  if (kind === "category") {
    const n = categories.length;
    const step = (px1 - px0) / Math.max(n, 1);
    const map = (v) => px0 + step * (categories.indexOf(v) + 0.5);
    return { map, ticks: categories.map((c) => ({ v: c, p: map(c), text: c })) };
  }
  const finite = values.filter((v) => Number.isFinite(v) && (kind !== "log" || v > 0));
  // not Math.min(...finite): a RangeError past the engine's limit of arguments
  let lo = finite.reduce((m, v) => (v < m ? v : m), Infinity);
  let hi = finite.reduce((m, v) => (v > m ? v : m), -Infinity);
  if (!finite.length) {
    lo = 0;
    hi = 1;
  }
  if (kind === "log") {
    const ticks = logTicks(lo, hi);
    if (!ticks.length) ticks.push(lo);
    const l0 = Math.log10(Math.min(lo, ticks[0]));
    const l1 = Math.log10(Math.max(hi, ticks[ticks.length - 1]));
    const span = l1 - l0 || 1;
    const map = (v) => px0 + ((Math.log10(v) - l0) / span) * (px1 - px0);
    return { map, ticks: ticks.map((t) => ({ v: t, p: map(t), text: numberText(t) })) };
  }
  const ticks = niceTicks(lo, hi, W < 480 ? 4 : 6, integer);
  const t0 = Math.min(ticks[0], lo);
  const t1 = Math.max(ticks[ticks.length - 1], hi);
  // in halves: the span of values near ±1.8e308 is past the doubles
  const span = half(t0, t1);
  const map = span > 0 ? (v) => px0 + (half(t0, v) / span) * (px1 - px0) : () => (px0 + px1) / 2;
  return { map, ticks: ticks.map((t) => ({ v: t, p: map(t), text: numberText(t) })) };
}

// plot(opts): an <figure> with the chart and its legend.
//   series: [{name, points: [{x, y, title, href}], line}]
//   x: {label, kind: "linear"|"log"|"category", categories}
//   y: {label, kind: "linear"|"log"}
export function plot(opts) {
  W = Math.round(Math.min(960, Math.max(300, opts.width || 640)));
  H = Math.round(Math.min(340, Math.max(220, W * 0.45)));
  const all = opts.series.flatMap((se) => se.points);
  const xa = axis(
    all.map((p) => p.x),
    opts.x.kind,
    M.l,
    W - M.r,
    opts.x.categories,
    opts.x.integer,
  );
  const ya = axis(
    all.map((p) => p.y),
    opts.y.kind || "linear",
    H - M.b,
    M.t,
  );
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart",
    role: "img",
    "aria-label": opts.title || `${opts.y.label} against ${opts.x.label}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  const grid = s("g", { class: "grid" });
  const labels = s("g", { class: "ticks" });
  for (const t of ya.ticks) {
    if (t.p < M.t - 0.5 || t.p > H - M.b + 0.5) continue;
    grid.append(s("line", { x1: M.l, x2: W - M.r, y1: t.p, y2: t.p }));
    labels.append(s("text", { x: M.l - 6, y: t.p + 4, "text-anchor": "end" }, t.text));
  }
  const most = Math.max(3, Math.floor((W - M.l - M.r) / 70));
  const crowded = xa.ticks.length > most;
  xa.ticks.forEach((t, i) => {
    if (t.p < M.l - 0.5 || t.p > W - M.r + 0.5) return;
    grid.append(s("line", { x1: t.p, x2: t.p, y1: M.t, y2: H - M.b }));
    if (crowded && i % Math.ceil(xa.ticks.length / most)) return;
    const text = t.text.length > 14 ? t.text.slice(0, 13) + "…" : t.text;
    labels.append(s("text", { x: t.p, y: H - M.b + 16, "text-anchor": "middle" }, text));
  });
  svg.append(grid, labels);
  svg.append(
    s("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }),
    s("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }),
    s("text", { class: "axis-label", x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" }, opts.x.label),
    s(
      "text",
      {
        class: "axis-label",
        x: 14,
        y: (M.t + H - M.b) / 2,
        "text-anchor": "middle",
        transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})`,
      },
      opts.y.label,
    ),
  );
  const legend = h("ul", { class: "legend" });
  opts.series.forEach((se, i) => {
    const cls = `series-${i % 8}`;
    const g = s("g", { class: cls });
    const pts = se.points
      .filter((p) => ok(p.x, opts.x) && ok(p.y, opts.y))
      .map((p) => ({ ...p, px: xa.map(p.x), py: ya.map(p.y) }));
    if (se.line && pts.length > 1) {
      const sorted = opts.x.kind === "category" ? pts : [...pts].sort((a, b) => a.px - b.px);
      g.append(s("polyline", { points: sorted.map((p) => `${p.px.toFixed(1)},${p.py.toFixed(1)}`).join(" ") }));
    }
    if (!se.line || pts.length <= 64) {
      for (const p of pts) {
        const dot = s("circle", { cx: p.px.toFixed(1), cy: p.py.toFixed(1), r: se.line ? 2.5 : 4 });
        if (p.title) dot.append(s("title", null, p.title));
        g.append(p.href ? s("a", { href: p.href }, dot) : dot);
      }
    }
    svg.append(g);
    if (opts.series.length > 1 || se.name) legend.append(h("li", { class: cls }, se.name || ""));
  });
  return h("figure", { class: "plot" }, svg, legend.childElementCount ? legend : null);
}

function ok(v, ax) {
  if (ax.kind === "category") return ax.categories.includes(v);
  return Number.isFinite(v) && (ax.kind !== "log" || v > 0);
}
