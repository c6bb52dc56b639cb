// @ts-check
// Notebook actions the page does itself when no host handles its events (host.js): JupyterLab's app object
// is not reachable from a widget, so the panel acts on its own notebook the way a learner would, through its
// DOM (scrolling, a click on a cell, the notebook toolbar's "insert below" button, a paste into the new
// cell's editor). Another notebook is the host's to open.

import { el } from "./util.js";

/** The notebook element holding `node` (the panel's own notebook). @param {Element} node */
export function notebookOf(node) {
  return /** @type {HTMLElement|null} */ (node.closest(".jp-Notebook"));
}

/** @param {HTMLElement} notebook */
export function notebookCells(notebook) {
  return /** @type {HTMLElement[]} */ (
    Array.from(notebook.querySelectorAll(".jp-Cell")).filter(
      (c) => c.parentElement && c.parentElement.closest(".jp-Notebook") === notebook,
    )
  );
}

/** A cell's index in its notebook (JupyterLab 4 marks windowed cells with it). @param {HTMLElement} cell @param {HTMLElement[]} cells */
function cellIndexOf(cell, cells) {
  const marked = cell.getAttribute("data-windowed-list-index");
  return marked !== null ? Number(marked) : cells.indexOf(cell);
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

/** Makes `cell` the notebook's active cell, as a click on its prompt does. @param {HTMLElement} cell */
function activateCell(cell) {
  const target = cell.querySelector(".jp-InputPrompt") || cell.querySelector(".jp-Cell-inputWrapper") || cell;
  for (const type of ["mousedown", "mouseup", "click"]) {
    target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, view: window }));
  }
}

/**
 * Scrolls the notebook to cell `index` and makes it active. With windowing (JupyterLab 4), far cells are not
 * in the DOM: the notebook's scroller is moved towards them until they are.
 * @param {HTMLElement} notebook @param {number} index
 */
export async function jumpToCell(notebook, index) {
  const scroller = /** @type {HTMLElement} */ (
    notebook.closest(".jp-WindowedPanel-outer") ||
      notebook.querySelector(".jp-WindowedPanel-outer") ||
      notebook.parentElement ||
      notebook
  );
  for (let step = 0; step < 60; step += 1) {
    const cells = notebookCells(notebook);
    const found = cells.find((c) => cellIndexOf(c, cells) === index);
    if (found) {
      found.scrollIntoView({ block: "center" });
      activateCell(found);
      return found;
    }
    const indices = cells.map((c) => cellIndexOf(c, cells));
    if (!indices.length) return null;
    const before = scroller.scrollTop;
    scroller.scrollTop += (index < Math.min(...indices) ? -0.8 : 0.8) * scroller.clientHeight;
    await nextFrame();
    if (scroller.scrollTop === before) return null; // at an end: no such cell
  }
  return null;
}

/** Pastes `text` into a CodeMirror editor (a real paste event keeps its line breaks). @param {HTMLElement} editor @param {string} text */
function pasteInto(editor, text) {
  editor.focus();
  const data = new DataTransfer();
  data.setData("text/plain", text);
  const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
  editor.dispatchEvent(event);
  if (!event.defaultPrevented) document.execCommand("insertText", false, text);
}

/**
 * Inserts a code cell holding `code` below `cell`, through the notebook toolbar's "insert below" button
 * (JupyterLab's own command), and puts the cursor in it.
 * @param {HTMLElement} cell @param {string} code
 */
export async function insertCodeBelow(cell, code) {
  const notebook = notebookOf(cell);
  const panel = cell.closest(".jp-NotebookPanel");
  if (!notebook || !panel) return false;
  const button = /** @type {HTMLElement|null} */ (
    panel.querySelector('.jp-NotebookPanel-toolbar [data-command="notebook:insert-cell-below"]')
  );
  if (!button) return false;
  const before = notebookCells(notebook);
  const index = cellIndexOf(cell, before);
  activateCell(cell);
  // JupyterLab's toolbar buttons act on mousedown (or on click, for some): both are sent, one acts.
  for (const type of ["mousedown", "mouseup", "click"]) {
    button.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, view: window }));
  }
  for (let i = 0; i < 50; i += 1) {
    await nextFrame();
    const cells = notebookCells(notebook);
    const created = cells.find((c) => cellIndexOf(c, cells) === index + 1);
    if (cells.length > before.length && created) {
      const editor = /** @type {HTMLElement|null} */ (created.querySelector(".cm-content"));
      if (!editor) continue;
      created.scrollIntoView({ block: "center" });
      pasteInto(editor, code);
      return true;
    }
  }
  return false;
}

/** @param {string} text */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { class: "tutornb-offscreen", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}
