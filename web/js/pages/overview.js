// Projects: each with its job counts by state, and the server's warnings.
import { call, ApiError, orDenied } from "../api.js";
import { h, fill, link, putTable, counts, stackBar, stateName, badge, STATES, projectHref, queueHref, num, deniedNote, viewState, keepView } from "../dom.js";

// Projects a page: a table of thousands, drawn again at each refresh, held the
// browser for seconds.
const PAGE = 100;

export function mount(root) {
  const warnings = h("div");
  const tiles = h("div", { class: "tiles" });
  const list = h("div");
  const hint = h("p", { class: "muted", hidden: true }, "No projects yet: ", h("code", null, "wnctl project create NAME"), ".");
  const kept = viewState({ first: 0 });
  let first = Math.max(0, Math.floor(num(kept.first))); // the index of the first project shown
  const shownInfo = h("span", { class: "muted" });
  const prevBtn = h("button", { type: "button", disabled: true, onclick: () => { first = Math.max(0, first - PAGE); refresh(); } }, "← previous");
  const nextBtn = h("button", { type: "button", disabled: true, onclick: () => { first += PAGE; refresh(); } }, "next →");
  const pager = h("div", { class: "controls", hidden: true }, shownInfo, prevBtn, nextBtn);
  root.append(h("h1", null, "Projects"), warnings, tiles, h("section", null, pager, list, hint));

  async function refresh() {
    const [projects, wk] = await Promise.all([
      orDenied(call("ProjectService", "List", {})),
      call("WorkerService", "List", {}).catch(() => null),
    ]);
    if (projects.denied) {
      fill(warnings);
      fill(tiles);
      fill(list, deniedNote("projects", projects.denied));
      hint.hidden = true;
      return;
    }
    const stats = await allStats(projects.projects || []);
    const byName = new Map((stats.projects || []).map((p) => [p.project, p]));
    fill(
      warnings,
      (stats.warnings || []).map((w) => h("p", { class: "warning" }, w)),
    );
    const total = counts({});
    for (const p of stats.projects || []) {
      const c = counts(p);
      for (const st of STATES) total[st] += c[st];
    }
    const active = wk ? (wk.workers || []).filter((w) => w.state === "WORKER_ACTIVE").length : null;
    fill(
      tiles,
      tile("projects", (projects.projects || []).length),
      tile("running", total.running, "st-running"),
      tile("pending", total.pending, "st-pending"),
      tile("failed", total.failed, "st-failed"),
      active === null ? null : tile("active workers", active, null, "#/workers"),
    );
    const all = projects.projects || [];
    if (first >= all.length) first = Math.max(0, Math.floor((all.length - 1) / PAGE) * PAGE);
    pager.hidden = all.length <= PAGE;
    shownInfo.textContent = `projects ${first + 1}–${Math.min(all.length, first + PAGE)} of ${all.length}`;
    prevBtn.disabled = first === 0;
    nextBtn.disabled = first + PAGE >= all.length;
    keepView({ first, here: kept.here });
    const rows = all.slice(first, first + PAGE).map((p) => {
      const known = byName.has(p.name); // not: the token may not see its counts
      const c = counts(byName.get(p.name));
      const all = STATES.reduce((a, st) => a + c[st], 0);
      const archived = p.status === "PROJECT_ARCHIVED";
      return [
        h("span", null, link(projectHref(p.name), p.name), archived ? badge("archived") : null),
        h("span", { class: "desc" }, p.description || ""),
        ...STATES.map((st) => (c[st] ? String(c[st]) : "")),
        known ? String(all) : "",
        known ? stackBar(c, all) : h("span", { class: "muted" }, "not for this token"),
        link(queueHref(p.name), "queue"),
      ];
    });
    putTable(
      list,
      [
          "project",
          "description",
          ...STATES.map((st) => ({ label: st, num: true })),
          { label: "total", num: true },
          "progress",
          "",
      ],
      rows,
      { class: "projects" },
    );
    hint.hidden = rows.length > 0;
  }
  return { title: "Projects", refresh };
}

// allStats: the counts of every project; for a token limited to some projects
// (which may not ask for all at once) those of each project it may see.
async function allStats(projects) {
  try {
    return await call("QueueService", "Stats", {});
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
  }
  const each = await Promise.all(
    projects.map((p) => call("QueueService", "Stats", { project: p.name }).catch(() => ({}))),
  );
  return { projects: each.flatMap((r) => r.projects || []), warnings: [...new Set(each.flatMap((r) => r.warnings || []))] };
}

function tile(label, value, cls, href) {
  const text = typeof value === "string" ? value : String(num(value));
  const v = h("span", { class: `tile-value ${(cls || "").replace(/^st-/, "tv-")}` }, text);
  const inner = [v, h("span", { class: "tile-label" }, label)];
  return href ? h("a", { class: "tile", href }, inner) : h("div", { class: "tile" }, inner);
}

export { tile, stateName };
