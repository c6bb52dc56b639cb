// @ts-check
// Docking: the panel pinned to the window's side, outside the notebook's scrolling, and back.

import { el } from "../util.js";
/** @typedef {import("./panel.js").PanelView} PanelView */

/** @param {PanelView} view */
export function toggleDock(view) {
  view.docked = !view.docked;
  if (view.docked) {
    // Pinned to the window, outside the notebook's scrolling (and windowing) so it never scrolls away;
    // a note with an Undock button stays in the cell.
    view.placeholder = el("div", { class: "tutornb-dock-note" }, [
      el("span", { text: "The tutor chat is docked at the side of the window. " }),
      el("button", { type: "button", class: "tutornb-button", text: "Undock", onClick: () => toggleDock(view) }),
    ]);
    view.root.replaceChildren(view.placeholder);
    document.body.append(view.panel);
    view.panel.classList.add("tutornb-docked");
  } else {
    view.panel.classList.remove("tutornb-docked");
    view.root.replaceChildren(view.panel);
    view.placeholder = null;
  }
  view.dockButton.setAttribute("aria-pressed", String(view.docked));
  view.dockButton.textContent = view.docked ? "Undock" : "Dock";
  view.dockButton.focus();
}

/** @param {PanelView} view */
export function reveal(view) {
  if (!view.docked) view.panel.scrollIntoView({ block: "nearest" });
  view.input.focus();
}
