// @ts-check
// The history drawer's list and filters, drawn from the controller's history state.

import { openFromHistory } from "../history.js";
import { el, plural, relativeTime } from "../util.js";
import { headerText } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/** @param {PanelView} view */
export function renderHistoryOpen(view) {
  const open = view.ctrl.history.open;
  view.historySlot.hidden = !open;
  view.historyButton.setAttribute("aria-expanded", String(open));
}

/** @param {PanelView} view */
export function renderHistoryFilters(view) {
  const h = view.ctrl.history;
  const fill = (
    /** @type {HTMLSelectElement} */ select,
    /** @type {string} */ label,
    /** @type {{id: string, title: string}[]} */ options,
    /** @type {string} */ current,
  ) => {
    select.replaceChildren(
      el("option", { value: "", text: label }),
      ...options.map((o) => el("option", { value: o.id, text: o.title })),
    );
    select.value = current;
  };
  fill(view.courseFilter, "Any course", h.courses, h.course_id);
  fill(view.moduleFilter, "Any module", h.modules, h.module_id);
}

/** @param {PanelView} view */
export function renderHistoryItems(view) {
  const h = view.ctrl.history;
  const items = h.items.map((s) => {
    const context = s.context || {};
    return el("li", {}, [
      el(
        "button",
        {
          type: "button",
          hook: "history-item",
          class: "tutornb-history-item",
          "data-session-id": s.id,
          "data-status": s.status,
          onClick: () => view.act(openFromHistory(view.ctrl, s.id), "input"),
        },
        [
          el("span", { class: "tutornb-history-title", text: s.title || headerText(context) }),
          el("span", {
            class: "tutornb-muted",
            text: `${headerText(context)} · ${s.status} · ${plural(s.message_count || 0, "message")} · ${relativeTime(s.last_active_at)}`,
          }),
        ],
      ),
    ]);
  });
  view.historyList.replaceChildren(...items);
  view.historyInfo.textContent =
    h.loading && !items.length
      ? "Searching…"
      : h.failed
        ? `The history could not be searched: ${h.failed}`
        : items.length
          ? ""
          : "No sessions found.";
}
