/**
 * The learner's work read from JupyterLab's models: a code cell's source and the error its output
 * holds, in the shape a chat frame's `work` carries (docs/architecture.md, "Contracts added after
 * 0.1"). The limits match the kernel side (tutornb/kernelwork.py): the frame stays well under the
 * chat socket's size limit.
 */

export const CODE_MAX = 8000;
export const ERROR_MAX = 2000;
// ANSI colour codes in tracebacks: the tutor needs the text, not the terminal colours.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** @param {string} text @param {number} limit */
function clipEnd(text, limit) {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** @param {string} text @param {number} limit keeps the end: a traceback's last lines say what failed */
function clipStart(text, limit) {
  return text.length <= limit ? text : `…${text.slice(text.length - limit + 1)}`;
}

/**
 * The error text of an `error` output (its traceback without colours, or `ename: evalue`).
 * @param {{ename?: unknown, evalue?: unknown, traceback?: unknown}} output
 */
export function errorText(output) {
  const lines = Array.isArray(output.traceback) ? output.traceback.map((line) => String(line)) : [];
  const traceback = lines.join("\n").replace(ANSI, "").trim();
  const summary = `${String(output.ename ?? "Error")}: ${String(output.evalue ?? "")}`.trim();
  return clipStart(traceback || summary, ERROR_MAX);
}

/**
 * The first error output of a code cell model, as plain JSON, or null.
 * @param {import('@jupyterlab/cells').ICodeCellModel} model
 */
export function cellError(model) {
  const outputs = model.outputs;
  for (let i = 0; i < outputs.length; i++) {
    const json = /** @type {Record<string, unknown>} */ (outputs.get(i).toJSON());
    if (json.output_type === "error") return json;
  }
  return null;
}

/**
 * A cell's work: its code (capped), its index and the error, or null for a cell that is not code
 * or holds none.
 * @param {import('@jupyterlab/notebook').Notebook} notebook @param {number} index
 * @returns {{cell_index: number, code: string, error?: string}|null}
 */
export function cellWork(notebook, index) {
  const cell = notebook.widgets[index];
  if (!cell || cell.model.type !== "code") return null;
  const model = /** @type {import('@jupyterlab/cells').ICodeCellModel} */ (cell.model);
  if (!model.sharedModel.getSource().trim()) return null; // an empty cell is nothing to ask about
  /** @type {{cell_index: number, code: string, error?: string}} */
  const work = { cell_index: index, code: clipEnd(model.sharedModel.getSource(), CODE_MAX) };
  const error = cellError(model);
  if (error) work.error = errorText(error);
  return work;
}

/**
 * The index of the cell whose error output is the most recent (highest execution count), or -1: the
 * learner's last error in a notebook opened from disk, before anything ran in this page.
 * @param {import('@jupyterlab/notebook').Notebook} notebook
 */
export function lastFailedCell(notebook) {
  let found = -1;
  let newest = -Infinity;
  notebook.widgets.forEach((cell, index) => {
    if (cell.model.type !== "code") return;
    const model = /** @type {import('@jupyterlab/cells').ICodeCellModel} */ (cell.model);
    if (!cellError(model)) return;
    const count = model.executionCount ?? 0;
    if (count >= newest) {
      newest = count;
      found = index;
    }
  });
  return found;
}
