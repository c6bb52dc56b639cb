// @ts-check
// The offer to resume one of this notebook's earlier sessions.

import { el, plainText, plural, relativeTime } from "../util.js";
import { headerText } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/** @param {PanelView} view */
export function renderOffer(view) {
  const ctrl = view.ctrl;
  if (ctrl.view !== "offer" || !ctrl.candidates.length) {
    view.offerSlot.replaceChildren();
    return;
  }
  const offered = ctrl.candidates[ctrl.offerIndex] || ctrl.candidates[0];
  const count = offered.message_count || 0;
  const title = offered.title || headerText(offered.context || {});
  const preview = el(
    "ul",
    { class: "tutornb-preview", "aria-label": "Last messages" },
    (offered.preview || []).slice(-2).map((/** @type {any} */ m) =>
      el("li", { "data-role": m.role }, [
        el("span", {
          class: "tutornb-role",
          text: m.role === "learner" ? "You" : m.role === "tutor" ? "Tutor" : "Note",
        }),
        el("span", { class: "tutornb-preview-text", text: plainText(m.text) }),
      ]),
    ),
  );
  let picker = null;
  if (ctrl.candidates.length > 1) {
    const select = el(
      "select",
      { class: "tutornb-select", "aria-label": "Other sessions of this notebook", "data-role": "candidates" },
      ctrl.candidates.map((c, i) =>
        el("option", {
          value: String(i),
          text: `${c.title || c.id} — ${plural(c.message_count || 0, "message")}, ${relativeTime(c.last_active_at)}`,
        }),
      ),
    );
    select.value = String(ctrl.offerIndex);
    select.addEventListener("change", () => {
      ctrl.offerIndex = Number(select.value);
      renderOffer(view);
      const again = /** @type {HTMLElement|null} */ (view.offerSlot.querySelector("select"));
      if (again) again.focus();
    });
    picker = el("label", { class: "tutornb-muted" }, ["Other sessions: ", select]);
  }
  const resume = el("button", {
    type: "button",
    hook: "resume",
    class: "tutornb-button tutornb-primary",
    text: "Resume",
    onClick: () => view.act(ctrl.openSession(offered.id, { resume: true }), "input"),
  });
  view.offerSlot.replaceChildren(
    el(
      "section",
      { hook: "resume-offer", class: "tutornb-offer", "aria-label": "Resume a session", "data-session-id": offered.id },
      [
        el("div", { class: "tutornb-offer-title" }, [
          el("strong", { text: `Resume: ${title}` }),
          el("span", {
            class: "tutornb-muted",
            text: ` — ${plural(count, "message")}, ${relativeTime(offered.last_active_at)}`,
          }),
          el("span", { class: "tutornb-badge", text: offered.status }),
        ]),
        preview,
        el("div", { class: "tutornb-offer-actions" }, [
          resume,
          el("button", {
            type: "button",
            hook: "new-session",
            class: "tutornb-button",
            text: "Start new",
            onClick: () => {
              view.wantFocus = "input";
              ctrl.startNew();
            },
          }),
          picker,
        ]),
      ],
    ),
  );
}
