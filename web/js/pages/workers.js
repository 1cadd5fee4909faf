// Workers: what each offers, what its jobs use, its state, the jobs it holds.
import { call, orDenied } from "../api.js";
import { h, fill, putTable, link, stateName, badge, ago, mib, num, jobHref, deniedNote, viewState, keepView } from "../dom.js";
import { tile } from "./overview.js";

// Workers a page: a table of thousands, drawn again at each refresh, held the
// browser for seconds.
const PAGE = 100;

export function mount(root) {
  const showGone = h("input", { type: "checkbox", onchange: () => { first = 0; refresh(); } });
  const tiles = h("div", { class: "tiles" });
  const list = h("div");
  const kept = viewState({ first: 0, gone: false });
  let first = Math.max(0, Math.floor(num(kept.first))); // the index of the first worker shown
  showGone.checked = kept.gone === true;
  const shownInfo = h("span", { class: "muted" });
  const prevBtn = h("button", { type: "button", disabled: true, onclick: () => { first = Math.max(0, first - PAGE); refresh(); } }, "← previous");
  const nextBtn = h("button", { type: "button", disabled: true, onclick: () => { first += PAGE; refresh(); } }, "next →");
  const pager = h("span", { hidden: true }, shownInfo, " ", prevBtn, " ", nextBtn);
  root.append(
    h("h1", null, "Workers"),
    tiles,
    h("div", { class: "controls" }, h("label", null, showGone, " show workers that left (gone)"), pager),
    list,
  );

  async function refresh() {
    const r = await orDenied(call("WorkerService", "List", {}));
    if (r.denied) {
      tiles.replaceChildren();
      fill(list, deniedNote("workers", r.denied));
      return;
    }
    const all = r.workers || [];
    const by = (s) => all.filter((w) => w.state === s).length;
    tiles.replaceChildren(
      tile("active", by("WORKER_ACTIVE"), "st-running"),
      tile("lost", by("WORKER_LOST"), "st-failed"),
      tile("gone", by("WORKER_GONE"), "st-cancelled"),
      tile("jobs held", all.reduce((a, w) => a + (w.jobs || []).length, 0)),
    );
    const shown = all
      .filter((w) => showGone.checked || w.state !== "WORKER_GONE")
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (first >= shown.length) first = Math.max(0, Math.floor((shown.length - 1) / PAGE) * PAGE);
    pager.hidden = shown.length <= PAGE;
    shownInfo.textContent = `workers ${first + 1}–${Math.min(shown.length, first + PAGE)} of ${shown.length}`;
    prevBtn.disabled = first === 0;
    nextBtn.disabled = first + PAGE >= shown.length;
    keepView({ first, gone: showGone.checked, here: kept.here });
    putTable(
      list,
      ["worker", "state", "host", "jobs", { label: "slots", num: true }, "cpu", "gpu", "memory", "labels", "projects", "last seen", "version"],
      shown.slice(first, first + PAGE).map((w) => {
        const cap = w.capacity || {};
        const used = w.used || {};
        const state = stateName(w.state, "WORKER_");
        const jobs = w.jobs || [];
        const slots = num(w.slots);
        return [
          h("span", { class: "name" }, w.name),
          h("span", null, badge(state), w.draining ? badge("draining") : null),
          w.host || "",
          jobs.length ? h("span", { class: "ids" }, jobs.map((id, i) => [i ? " " : "", link(jobHref(id), id)])) : "",
          slots ? `${jobs.length}/${slots}` : String(jobs.length),
          use(num(used.cpu), num(cap.cpu), String),
          use(num(used.gpu), (cap.gpus || []).length, String, (cap.gpus || []).join(", ")),
          use(num(used.memoryMb), num(cap.memoryMb), mib),
          Object.entries(cap.labels || {}).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`)),
          (w.projects || []).join(", "),
          h("span", { title: new Date(num(w.lastSeenMs)).toLocaleString() }, ago(w.lastSeenMs)),
          w.version || "",
        ];
      }),
      { class: "workers" },
    );
  }
  return { title: "Workers", refresh };
}

// use(used, cap, fmt, title): "2/8" with a bar of the share in use.
function use(used, cap, fmt, title) {
  if (!cap && !used) return "";
  const bar = h("span", { class: "meter" }, h("span"));
  bar.firstChild.style.width = `${cap ? Math.min(100, (100 * used) / cap) : 0}%`;
  return h("span", { class: "use", title: title || null }, bar, `${fmt(used)} / ${fmt(cap)}`);
}
