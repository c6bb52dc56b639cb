// @ts-check
// The history drawer's state: the learner's past sessions, searched and filtered through the transport.

import { asError, learnerErrorText } from "./errors.js";

/** @typedef {import("./types.js").SessionInfo} SessionInfo */
/** @typedef {import("./controller.js").Controller} Controller */

/** @param {Controller} ctrl */
export async function toggleHistory(ctrl, open = !ctrl.history.open) {
  ctrl.history.open = open;
  ctrl.emit("history");
  if (open) {
    await loadHistoryFilters(ctrl);
    await searchHistory(ctrl);
  }
}

/** @param {Controller} ctrl */
export async function loadHistoryFilters(ctrl) {
  if (!ctrl.pipe) return;
  try {
    const page = await ctrl.pipe.request("list_sessions", { limit: 200 });
    const courses = new Map();
    const modules = new Map();
    for (const s of page.sessions || []) {
      const c = s.context || {};
      if (c.course_id) courses.set(c.course_id, c.course_title || c.course_id);
      if (c.module_id) modules.set(c.module_id, c.module_title || c.module_id);
    }
    ctrl.history.courses = Array.from(courses, ([id, title]) => ({ id, title }));
    ctrl.history.modules = Array.from(modules, ([id, title]) => ({ id, title }));
    ctrl.emit("history-filters");
  } catch {
    /* filters are a convenience; the search below reports errors */
  }
}

/** @param {"course_id"|"module_id"|"status"} key @param {string} value @param {Controller} ctrl */
export function setHistoryFilter(ctrl, key, value) {
  ctrl.history[key] = value;
  return searchHistory(ctrl);
}

/** @param {Controller} ctrl */
export async function searchHistory(ctrl) {
  if (!ctrl.pipe) return;
  const h = ctrl.history;
  const seq = ++h.seq;
  h.loading = true;
  ctrl.emit("history-items");
  try {
    const page = await ctrl.pipe.request("list_sessions", {
      q: h.q.trim(),
      course_id: h.course_id,
      module_id: h.module_id,
      status: h.status,
      limit: 50,
    });
    if (seq !== h.seq) return; // an older answer arriving late
    h.items = page.sessions || [];
    h.total = page.total || h.items.length;
    h.failed = "";
  } catch (err) {
    if (seq !== h.seq) return;
    h.items = [];
    h.failed = learnerErrorText(asError(err).code, asError(err).message);
    ctrl.showError(err);
  }
  h.loading = false;
  ctrl.emit("history-items");
}

/** @param {string} id @param {Controller} ctrl */
export function openFromHistory(ctrl, id) {
  ctrl.history.open = false;
  ctrl.emit("history");
  // The session already on screen: reconnecting would close its socket first, and the server pauses a
  // session whose last socket closed. Opening it from History must never pause it.
  if (ctrl.session?.id === id && ctrl.chat) return Promise.resolve();
  return ctrl.openSession(id, { resume: false });
}

/** @param {Controller} ctrl */
export async function loadCandidates(ctrl) {
  const notebook = ctrl.model.get("notebook_path");
  ctrl.candidates = [];
  if (notebook && ctrl.pipe) {
    try {
      const page = await ctrl.pipe.request("list_sessions", {
        notebook_path: notebook,
        status: "active,paused",
        limit: 10,
      });
      // A session whose first message was refused holds nothing to resume: offering it would only confuse.
      ctrl.candidates = (page.sessions || []).filter((/** @type {SessionInfo} */ s) => (s.message_count || 0) > 0);
    } catch (err) {
      ctrl.showError(err);
    }
  }
  ctrl.offerIndex = 0;
  ctrl.view = ctrl.candidates.length ? "offer" : "chat";
  ctrl.emit("all");
}
