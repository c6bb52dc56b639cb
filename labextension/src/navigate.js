/**
 * Navigation to a cited cell through JupyterLab's own APIs (never the CommandLinker, which asks the
 * learner to trust an untrusted notebook before running a command, see issue 19).
 *
 * The document manager opens the notebook or reveals its tab; the notebook's windowed list scrolls to
 * the cell by index (`scrollToItem`), so a cell that is not in the DOM yet (windowed notebooks) is
 * reached as well as one that is.
 */

/**
 * @typedef {{notebook_path: string, cell_index: number, heading?: string}} NavigateDetail
 * @typedef {import('@jupyterlab/docmanager').IDocumentManager} IDocumentManager
 * @typedef {import('@jupyterlab/application').JupyterFrontEnd} JupyterFrontEnd
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 */

/** @param {unknown} detail @returns {NavigateDetail|null} */
export function navigateDetail(detail) {
  if (!detail || typeof detail !== "object") return null;
  const { notebook_path: path, cell_index: index } = /** @type {Record<string, unknown>} */ (detail);
  if (typeof path !== "string" || !path || path.length > 1024) return null;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0) return null;
  return /** @type {NavigateDetail} */ (detail);
}

/**
 * Opens (or shows) the notebook at `path` and makes cell `index` the active, selected, visible cell.
 * @param {JupyterFrontEnd} app @param {IDocumentManager} docManager @param {NavigateDetail} target
 * @returns {Promise<boolean>} whether the cell exists and was reached
 */
export async function navigateToCell(app, docManager, target) {
  const widget = /** @type {NotebookPanel|undefined} */ (
    docManager.findWidget(target.notebook_path, "Notebook") ?? docManager.openOrReveal(target.notebook_path, "Notebook")
  );
  if (!widget) return false;
  app.shell.activateById(widget.id);
  await widget.context.ready;
  await widget.revealed;
  const notebook = widget.content;
  if (target.cell_index >= notebook.widgets.length) return false;
  notebook.mode = "command";
  notebook.activeCellIndex = target.cell_index;
  notebook.deselectAll();
  await notebook.scrollToItem(target.cell_index, "center");
  // Focus the notebook (command mode) so the keyboard continues from the cited cell.
  notebook.activate();
  return true;
}
