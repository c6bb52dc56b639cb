// @ts-check
// Texts the views show, made from data (no DOM).

import { basename } from "../util.js";

/** @typedef {import("../types.js").Citation} Citation */

/** @param {Record<string, any>} context */
export function headerText(context) {
  const course = context.course_title || context.course_id;
  const module = context.module_title || context.module_id;
  if (course && module) return `${course} › ${module}`;
  return course || module || "General tutor";
}

// Cells are counted from 1 for people, as the course tutor's own text does ("cell 8").
/** @param {Citation} c */
export function citationText(c) {
  const parts = [basename(c.notebook_path), `cell ${Number(c.cell_index) + 1}`];
  if (c.heading) parts.push(c.heading);
  return parts.join(" · ");
}

/** Whether a key event comes from a place where letters are typed. @param {EventTarget|null} target */
export function isTextEntry(target) {
  const node = /** @type {HTMLElement|null} */ (target);
  if (!node?.localName) return false;
  if (node.isContentEditable) return true;
  if (node.localName === "textarea" || node.localName === "select") return true;
  return (
    node.localName === "input" &&
    !["button", "checkbox", "radio", "submit"].includes(/** @type {HTMLInputElement} */ (node).type)
  );
}
