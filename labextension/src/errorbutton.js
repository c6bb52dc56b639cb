/**
 * "Ask the tutor about this error" under every error output of every open notebook.
 *
 * Driven by JupyterLab's models, not by watching the DOM: a code cell's output area says when its
 * outputs change (`outputLengthChanged`, the outputs model's `changed`), and a windowed notebook
 * creates a cell's output area only when the cell is first rendered (`cell.ready`). The button sits in
 * the output's own panel, so it scrolls and disappears with the output.
 */

export const ASK_ERROR_HOOK = "ask-error";
export const ASK_ERROR_LABEL = "Ask the tutor about this error";

/**
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 * @typedef {import('@jupyterlab/cells').CodeCell} CodeCell
 * @typedef {(panel: NotebookPanel, cell: CodeCell) => void} AskHandler
 */

/** @param {import('@jupyterlab/cells').Cell} cell @returns {cell is CodeCell} */
const isCodeCell = (cell) => cell.model.type === "code";

export class ErrorButtons {
  /** @param {AskHandler} onAsk */
  constructor(onAsk) {
    this.onAsk = onAsk;
    this.enabled = true;
    /** @type {Set<NotebookPanel>} */
    this.panels = new Set();
    /** @type {WeakSet<object>} cells whose signals are connected already */
    this.watched = new WeakSet();
  }

  /** @param {boolean} enabled */
  setEnabled(enabled) {
    if (enabled === this.enabled) return;
    this.enabled = enabled;
    for (const panel of this.panels) this.decoratePanel(panel);
  }

  /** @param {NotebookPanel} panel */
  watch(panel) {
    this.panels.add(panel);
    panel.disposed.connect(() => this.panels.delete(panel));
    const connectAll = () => {
      for (const cell of panel.content.widgets) this.watchCell(panel, cell);
    };
    void panel.context.ready.then(() => {
      connectAll();
      panel.content.model?.cells.changed.connect(() => queueMicrotask(connectAll));
    });
  }

  /** @param {NotebookPanel} panel @param {import('@jupyterlab/cells').Cell} cell */
  watchCell(panel, cell) {
    if (!isCodeCell(cell) || this.watched.has(cell)) return;
    this.watched.add(cell);
    void cell.ready.then(() => {
      if (cell.isDisposed) return;
      const decorate = () => queueMicrotask(() => this.decorateCell(panel, cell));
      cell.outputArea.outputLengthChanged.connect(decorate);
      cell.model.outputs.changed.connect(decorate);
      this.decorateCell(panel, cell);
    });
  }

  /** @param {NotebookPanel} panel */
  decoratePanel(panel) {
    for (const cell of panel.content.widgets) {
      if (isCodeCell(cell) && !cell.isPlaceholder()) this.decorateCell(panel, cell);
    }
  }

  /** @param {NotebookPanel} panel @param {CodeCell} cell */
  decorateCell(panel, cell) {
    if (cell.isDisposed || !cell.outputArea) return;
    const area = cell.outputArea;
    area.widgets.forEach((widget, index) => {
      const existing = widget.node.querySelector(`:scope > [data-tutornb="${ASK_ERROR_HOOK}"]`);
      const isError = index < area.model.length && area.model.get(index).type === "error";
      if (!this.enabled || !isError) {
        existing?.remove();
        return;
      }
      if (existing) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "jp-Button tutornb-ask-error";
      button.setAttribute("data-tutornb", ASK_ERROR_HOOK);
      button.textContent = ASK_ERROR_LABEL;
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        this.onAsk(panel, cell);
      });
      widget.node.append(button);
    });
  }
}
