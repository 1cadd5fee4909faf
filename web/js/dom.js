// DOM building and formatting. Every string from the server goes in through
// textContent or an attribute, never as markup.

// h(tag, attrs, ...children): an element; attrs may hold `class`, `on<event>`
// functions, `dataset`, and plain attributes; children are nodes or strings
// (strings become text nodes), null and false are skipped, arrays flattened.
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

const SVG_NS = "http://www.w3.org/2000/svg";

// s(tag, attrs, ...children): an SVG element, as h.
export function s(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fill(e, ...children): replace e's children.
export function fill(e, ...children) {
  e.replaceChildren();
  append(e, children);
  return e;
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export const jobHref = (id) => `#/jobs/${encodeURIComponent(id)}`;
export const sweepHref = (id) => `#/sweeps/${encodeURIComponent(id)}`;
export const projectHref = (name) => `#/projects/${encodeURIComponent(name)}`;
export const queueHref = (name) => (name ? `#/queue/${encodeURIComponent(name)}` : "#/queue");

// The job states in the order the dashboard shows them, with their counts' field names.
export const STATES = ["running", "pending", "completed", "failed", "blocked", "cancelled"];

// stateName("JOB_RUNNING") is "running", as wnctl prints it.
export function stateName(enumName, prefix = "JOB_") {
  if (!enumName) return "unspecified";
  const n = enumName.startsWith(prefix) ? enumName.slice(prefix.length) : enumName;
  return n.toLowerCase();
}

export function badge(state, extra) {
  return h("span", { class: `badge st-${state}` }, state, extra ? ` ${extra}` : null);
}

// counts(o): the six state counts of a Sweep or a ProjectStats, as numbers.
export function counts(o) {
  const c = {};
  for (const st of STATES) c[st] = num(o && o[st]);
  return c;
}

export function num(v) {
  if (v === undefined || v === null || v === "") return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

// stackBar(c, total): a bar of the states' shares, with a title for each part.
export function stackBar(c, total) {
  const sum = total || STATES.reduce((a, st) => a + c[st], 0);
  const bar = h("div", { class: "stack", role: "img" });
  const label = [];
  for (const st of ["completed", "failed", "cancelled", "blocked", "running", "pending"]) {
    if (!c[st]) continue;
    const part = h("span", { class: `st-bg-${st}`, title: `${c[st]} ${st}` });
    part.style.width = `${(100 * c[st]) / (sum || 1)}%`;
    bar.append(part);
    label.push(`${c[st]} ${st}`);
  }
  bar.setAttribute("aria-label", label.join(", ") || "no jobs");
  return bar;
}

// table(headers, rows, opts): a table in a horizontally scrolling box.
// headers: [{label, num, title}] or strings; rows: arrays of cells (node or text).
export function table(headers, rows, opts = {}) {
  const thead = h(
    "thead",
    null,
    h(
      "tr",
      null,
      headers.map((hd) => {
        const o = typeof hd === "string" ? { label: hd } : hd;
        return h("th", { class: o.num ? "num" : null, title: o.title, scope: "col" }, o.label);
      }),
    ),
  );
  const tbody = h("tbody");
  fillRows(tbody, headers, rows);
  const t = h("table", { class: opts.class || null }, thead, tbody);
  return h("div", { class: "scroll" }, t);
}

export function fillRows(tbody, headers, rows) {
  tbody.replaceChildren();
  for (const r of rows) {
    const tr = h("tr");
    r.forEach((cell, i) => {
      const hd = headers[i];
      const isNum = hd && typeof hd === "object" && hd.num;
      tr.append(h("td", { class: isNum ? "num" : null }, cell));
    });
    tbody.append(tr);
  }
  if (rows.length === 0) {
    tbody.append(h("tr", null, h("td", { colspan: headers.length, class: "empty" }, "none")));
  }
}

// fields(pairs): a definition list of [label, value] pairs, skipping empty values.
export function fields(pairs) {
  const dl = h("dl", { class: "fields" });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    dl.append(h("div", null, h("dt", null, k), h("dd", null, v)));
  }
  return dl;
}

// ---------------------------------------------------------------- formats

const pad = (n, w = 2) => String(n).padStart(w, "0");

// time(ms): a Unix millisecond time (a decimal string) as local "YYYY-MM-DD HH:MM:SS".
export function time(ms) {
  const n = num(ms);
  if (!n) return "";
  const d = new Date(n);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

// duration(ms): "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min", "3 d 4 h".
export function duration(ms) {
  const n = Math.max(0, num(ms));
  if (n < 1000) return `${Math.round(n)} ms`;
  const sec = n / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${pad(Math.floor(sec % 60))} s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ${pad(m % 60)} min`;
  return `${Math.floor(hr / 24)} d ${hr % 24} h`;
}

// ago(ms): "12 s ago" (or "in 5 s") from now.
export function ago(ms) {
  const n = num(ms);
  if (!n) return "";
  const d = Date.now() - n;
  return d >= 0 ? `${duration(d)} ago` : `in ${duration(-d)}`;
}

// when(ms): an element showing the time, with the relative time as its title.
export function when(ms) {
  if (!num(ms)) return "";
  return h("time", { datetime: new Date(num(ms)).toISOString(), title: ago(ms) }, time(ms));
}

export function bytes(v) {
  const n = num(v);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let x = n / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[u]}`;
}

export function mib(v) {
  const n = num(v);
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} GiB`;
  return `${n} MiB`;
}

// numberText(x): a result number as wnctl prints it: whole numbers whole, else
// the shortest decimal that reads back the same.
export function numberText(x) {
  if (typeof x === "string") {
    if (x === "NaN") return "nan";
    if (x === "Infinity") return "inf";
    if (x === "-Infinity") return "-inf";
    x = Number(x);
  }
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x < 0 ? "-inf" : "inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toFixed(0);
  return String(x);
}

// resultValue(v): a ResultValue ({number} or {text}) as {text, number, isNumber}.
export function resultValue(v) {
  if (!v) return { text: "", number: NaN, isNumber: false, present: false };
  if ("number" in v) {
    const n = typeof v.number === "string" ? Number(v.number) : v.number;
    return { text: numberText(v.number), number: n, isNumber: true, present: true };
  }
  if ("text" in v) return { text: String(v.text), number: NaN, isNumber: false, present: true };
  // a number 0 is omitted by proto3 JSON only inside a oneof it is not: an empty
  // object is a value that was set to the default of neither
  return { text: "", number: NaN, isNumber: false, present: false };
}

// sortedKeys(objects, field): the union of the keys of o[field] of each object, sorted
// by code points as wnctl sorts them.
export function sortedKeys(objects, field) {
  const set = new Set();
  for (const o of objects) for (const k of Object.keys((o && o[field]) || {})) set.add(k);
  return [...set].sort(byteCompare);
}

// own(o, k): o's own property k, else undefined: a parameter or result a job
// lacks is not one that Object's prototype has ("toString", "constructor").
export function own(o, k) {
  return o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

export function byteCompare(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// base64Bytes(b64): the bytes of a proto3 JSON `bytes` field.
export function base64Bytes(b64) {
  if (!b64) return new Uint8Array(0);
  const bin = atob(b64.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// putTable(holder, headers, rows, opts): show the table in holder, refilling the
// rows of the one already there when its columns are the same (so that a live
// refresh keeps the horizontal scroll and the focus).
export function putTable(holder, headers, rows, opts = {}) {
  const key = JSON.stringify(headers.map((hd) => (typeof hd === "string" ? hd : hd.label)));
  const box = holder.firstElementChild;
  if (box && box.dataset.key === key && box.classList.contains("scroll")) {
    fillRows(box.querySelector("tbody"), headers, rows);
    return;
  }
  const t = table(headers, rows, opts);
  t.dataset.key = key;
  fill(holder, t);
}

// viewState(defaults): what a page kept in its entry of the browser's history
// by keepView (a page of a table, a filter, a sort), else defaults: back and
// forward come to a page as it was left; a link followed starts afresh.
// The page's address is kept with it: a refresh of a page left, ending after
// the next one came, keeps nothing in the next one's entry.
export function viewState(defaults) {
  const st = history.state && history.state.viewOf === location.hash && history.state.view;
  return { ...defaults, ...(st && typeof st === "object" ? st : {}), here: location.hash };
}

// keepView(state): keep state (with `here` of viewState) in the current entry
// of the history (its address unchanged), if the page is still the one shown.
export function keepView(state) {
  if (state.here !== location.hash) return;
  try {
    history.replaceState({ ...(history.state || {}), view: state, viewOf: state.here }, "");
  } catch {
    /* a state the browser will not keep: the page starts afresh on back */
  }
}

// deniedNote(what, e): what a page says when the token may not list `what`
// (projects, workers), e the server's refusal: which tokens may.
export function deniedNote(what, e) {
  return h(
    "div",
    { class: "denied" },
    h("p", { class: "warning" }, `This token cannot list ${what}: ${e.message}.`),
    h(
      "p",
      { class: "muted" },
      "A worker token runs jobs (it fetches and reports them) and reads nothing on these pages. " +
        "To see them, log out and log in with a reader, user or admin token (",
      h("code", null, "wnctl token create dashboard --role reader"),
      ").",
    ),
  );
}
