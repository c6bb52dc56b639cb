/**
 * "Insert" and "Replace" on a tutor's code block: the code goes to the active cell of the notebook the
 * learner works in (the tracker's current notebook: focusing the sidebar does not change it), through
 * NotebookActions and the cell's shared model, as an undoable edit.
 */
import { NotebookActions } from "@jupyterlab/notebook";

/** @param {unknown} detail @returns {{code: string, mode: "below"|"replace"}|null} */
export function insertDetail(detail) {
  if (!detail || typeof detail !== "object") return null;
  const { code, mode } = /** @type {Record<string, unknown>} */ (detail);
  if (typeof code !== "string" || (mode !== "below" && mode !== "replace")) return null;
  return { code, mode };
}

/**
 * @param {import('@jupyterlab/notebook').NotebookPanel} panel
 * @param {{code: string, mode: "below"|"replace"}} request
 * @returns {number} the index of the cell that now holds the code
 */
export function insertCode(panel, request) {
  const notebook = panel.content;
  if (request.mode === "below" || !notebook.activeCell) {
    if (notebook.activeCell) NotebookActions.insertBelow(notebook);
    else NotebookActions.insertAbove(notebook);
  }
  if (notebook.activeCell?.model.type !== "code") NotebookActions.changeCellType(notebook, "code");
  const cell = notebook.activeCell;
  if (!cell) return -1;
  // A code block's text ends with a newline; a cell's source does not.
  cell.model.sharedModel.setSource(request.code.replace(/\s+$/, ""));
  notebook.mode = "command";
  void notebook.scrollToItem(notebook.activeCellIndex, "smart");
  return notebook.activeCellIndex;
}
