// The HTTP/JSON API of wnd (docs/http.md): every protocol method as
// POST /v1/<Service>/<Method>, bodies in the proto3 JSON mapping.
// The token, when the server has tokens, lives in sessionStorage.

const TOKEN_KEY = "wn.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // HTTP status, 0 when wnd could not be reached
    this.code = code; // gRPC code from the body, or 0
  }
}

let onUnauthenticated = () => {};

// setUnauthenticatedHandler names the function called when a call answers 401.
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lasts until the page goes */
  }
}

const CALL_TIMEOUT_MS = 10000;

// call sends one method and resolves to its reply object (defaults omitted,
// as proto3 JSON omits them). It rejects with an ApiError.
export async function call(service, method, body = {}, opts = {}) {
  const headers = { "Content-Type": "application/json" };
  const t = opts.token !== undefined ? opts.token : token();
  if (t) headers.Authorization = "Bearer " + t;
  let resp;
  let text;
  try {
    // a wnd that accepts the connection but never answers (stopped, hung,
    // a stale tunnel) is said to be unreachable rather than waited for
    resp = await fetch(`v1/${service}/${method}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      cache: "no-store",
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    text = await resp.text();
  } catch (e) {
    const why = e && e.name === "TimeoutError" ? `no answer within ${CALL_TIMEOUT_MS / 1000} s` : e && e.message ? e.message : e;
    throw new ApiError(0, 14, "cannot reach wnd: " + why);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const code = data && typeof data.code === "number" ? data.code : 0;
    const msg = data && data.message ? data.message : `HTTP ${resp.status}`;
    const err = new ApiError(resp.status, code, msg);
    if (resp.status === 401 && !opts.quiet) onUnauthenticated(err);
    throw err;
  }
  return data || {};
}

// denied tells whether e is the server's refusal of the token (403): a token
// whose role may not call the method, such as a worker token reading projects.
export const denied = (e) => e instanceof ApiError && e.status === 403;

// orDenied resolves to what promise p resolves to, or to {denied: e} when it
// rejects with a refusal of the token.
export const orDenied = (p) =>
  p.catch((e) => {
    if (denied(e)) return { denied: e };
    throw e;
  });

// listAll pages through a List method that answers `next_after_id`.
export async function listJobs(filter, max = 100000) {
  const jobs = [];
  let after = "0";
  for (;;) {
    const r = await call("JobService", "List", { ...filter, pageSize: 10000, afterId: after });
    for (const j of r.jobs || []) jobs.push(j);
    const next = r.nextAfterId || "0";
    if (next === "0" || jobs.length >= max || BigInt(next) <= BigInt(after)) break;
    after = next;
  }
  return jobs;
}
