// @ts-check
// Keys in the panel: letters answer the open quiz question (but not while typing text).

import { HOOK, LETTERS } from "../util.js";
import { isTextEntry } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/**
 * Letters answer the open quiz question from anywhere in the panel, the empty compose box included (the
 * question says "Press A, B, …" while the cursor is there), but not while typing text.
 * @param {KeyboardEvent} event @param {PanelView} view
 */
export function onPanelKey(view, event) {
  const emptyInput = event.target === view.input && !view.input.value;
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTextEntry(event.target) && !emptyInput) return;
  if (event.key.length !== 1) return;
  const index = LETTERS.indexOf(event.key.toUpperCase());
  if (index < 0) return;
  const open = view.listNode.querySelector(`[${HOOK}="quiz"][data-open="true"]`);
  const choice = open
    ? /** @type {HTMLButtonElement|null} */ (open.querySelector(`[${HOOK}="choice"][data-choice="${index}"]`))
    : null;
  if (choice && !choice.disabled) {
    event.preventDefault();
    choice.click();
  }
}
