/**
 * tutornb's JupyterLab extension (issue 19): the Tutor sidebar, navigation to cited cells and the
 * actions on the learner's cell, all through JupyterLab's APIs.
 *
 * The chat page code dispatches DOM events for anything that needs the host (the page <-> host
 * contract: `tutornb:navigate`, `tutornb:insert-code`, `tutornb:ask-error`); this plugin listens on
 * `document`, handles them and calls `preventDefault()` so the page knows the host did it. Nothing here
 * uses JupyterLab's CommandLinker, which asks for trust before running a command from an untrusted
 * notebook's output.
 */
import { ILayoutRestorer } from "@jupyterlab/application";
import { ICommandPalette } from "@jupyterlab/apputils";
import { IDocumentManager } from "@jupyterlab/docmanager";
import { INotebookTracker, NotebookActions } from "@jupyterlab/notebook";
import { ISettingRegistry } from "@jupyterlab/settingregistry";
import { createMount, chatActions } from "./chat.js";
import { cellWork, lastFailedCell } from "./cellwork.js";
import { ErrorButtons } from "./errorbutton.js";
import { insertCode, insertDetail } from "./insert.js";
import { navigateDetail, navigateToCell } from "./navigate.js";
import { SIDEBAR_ID, TutorSidebar } from "./sidebar.js";

const PLUGIN_ID = "tutornb:plugin";
const CATEGORY = "Tutor";
export const COMMANDS = {
  open: "tutornb:open",
  askCell: "tutornb:ask-about-cell",
  newSession: "tutornb:new-session",
  history: "tutornb:history",
};
const ERROR_QUESTION = "Why does this cell fail, and how do I fix it?";
const CODE_QUESTION = "Can you look at the code in this cell with me?";

/**
 * @typedef {import('@jupyterlab/application').JupyterFrontEnd} JupyterFrontEnd
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 * @typedef {import('@jupyterlab/notebook').Notebook} Notebook
 */

/** @type {import('@jupyterlab/application').JupyterFrontEndPlugin<void>} */
const plugin = {
  id: PLUGIN_ID,
  description: "The Tutor sidebar, citations that open cells, and tutor actions on notebook cells.",
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager],
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry],
  /**
   * @param {JupyterFrontEnd} app @param {import('@jupyterlab/notebook').INotebookTracker} tracker
   * @param {import('@jupyterlab/docmanager').IDocumentManager} docManager
   * @param {import('@jupyterlab/application').ILayoutRestorer|null} restorer
   * @param {import('@jupyterlab/apputils').ICommandPalette|null} palette
   * @param {import('@jupyterlab/settingregistry').ISettingRegistry|null} settingRegistry
   */
  activate(app, tracker, docManager, restorer, palette, settingRegistry) {
    const sidebar = new TutorSidebar(createMount());
    let side = /** @type {"right"|"left"} */ ("right");
    app.shell.add(sidebar, side, { rank: 900 });
    if (restorer) restorer.add(sidebar, SIDEBAR_ID);

    /** The learner's last failed run per notebook (for "Ask about my last error" in any session). */
    const lastError = new WeakMap();
    const syncLastError = () => {
      const panel = sidebar.panel;
      const work = panel ? lastError.get(panel.content) ?? null : null;
      if (sidebar.chat) chatActions.setLastWork(sidebar.chat, work);
    };
    tracker.currentChanged.connect((_, panel) => {
      sidebar.follow(panel);
      void sidebar.whenChat().then(syncLastError);
    });
    sidebar.follow(tracker.currentWidget);
    NotebookActions.executed.connect((_, { notebook, cell, success }) => {
      const index = notebook.widgets.indexOf(cell);
      if (cell.model.type !== "code" || index < 0) return;
      if (success) lastError.delete(notebook);
      else lastError.set(notebook, cellWork(notebook, index));
      if (sidebar.panel?.content === notebook) syncLastError();
    });

    /** Opens the sidebar on `panel` and asks about cell `index` of it, with its code and error as work. */
    const askAboutCell = async (/** @type {NotebookPanel} */ panel, /** @type {number} */ index) => {
      const work = cellWork(panel.content, index);
      if (!work) return;
      sidebar.follow(panel);
      app.shell.activateById(SIDEBAR_ID);
      const chat = await sidebar.whenChat();
      await chatActions.send(chat, work.error ? ERROR_QUESTION : CODE_QUESTION, work);
    };

    const errorButtons = new ErrorButtons((panel, cell) => {
      const index = panel.content.widgets.indexOf(cell);
      if (index >= 0) void askAboutCell(panel, index);
    });
    tracker.widgetAdded.connect((_, panel) => errorButtons.watch(panel));
    tracker.forEach((panel) => errorButtons.watch(panel));

    // The page <-> host contract: events from the chat (in the sidebar or in a notebook's output).
    document.addEventListener(
      "tutornb:navigate",
      (event) => {
        const target = navigateDetail(/** @type {CustomEvent} */ (event).detail);
        if (!target) return;
        event.preventDefault();
        void navigateToCell(app, docManager, target);
      },
      true,
    );
    document.addEventListener(
      "tutornb:insert-code",
      (event) => {
        const request = insertDetail(/** @type {CustomEvent} */ (event).detail);
        const panel = tracker.currentWidget;
        if (!request || !panel) return;
        event.preventDefault();
        insertCode(panel, request);
      },
      true,
    );
    document.addEventListener(
      "tutornb:ask-error",
      (event) => {
        const panel = tracker.currentWidget;
        const index = panel ? lastError.get(panel.content)?.cell_index ?? lastFailedCell(panel.content) : -1;
        if (!panel || index < 0) return;
        event.preventDefault();
        void askAboutCell(panel, index);
      },
      true,
    );

    app.commands.addCommand(COMMANDS.open, {
      label: "Open the Tutor",
      caption: "Show the Tutor sidebar and put the cursor in its message box",
      execute: () => app.shell.activateById(SIDEBAR_ID), // the sidebar focuses its message box
    });
    app.commands.addCommand(COMMANDS.askCell, {
      label: "Ask the Tutor about the Active Cell",
      caption: "Send the active code cell (and its error, if it failed) to the tutor",
      isEnabled: () => tracker.activeCell?.model.type === "code",
      execute: () => {
        const panel = tracker.currentWidget;
        if (!panel) return;
        // From the cell's context menu: the cell under the pointer (running a cell moves the active one).
        const hit = app.contextMenuHitTest((node) => node.classList.contains("jp-Cell"));
        const clicked = hit ? panel.content.widgets.findIndex((cell) => cell.node === hit) : -1;
        return askAboutCell(panel, clicked >= 0 ? clicked : panel.content.activeCellIndex);
      },
    });
    app.commands.addCommand(COMMANDS.newSession, {
      label: "New Tutor Session",
      caption: "Start a new tutor session for the active notebook",
      execute: async () => {
        app.shell.activateById(SIDEBAR_ID);
        chatActions.newSession(await sidebar.whenChat());
      },
    });
    app.commands.addCommand(COMMANDS.history, {
      label: "Tutor Session History",
      caption: "Show your earlier tutor sessions",
      execute: async () => {
        app.shell.activateById(SIDEBAR_ID);
        chatActions.openHistory(await sidebar.whenChat());
      },
    });
    if (palette) {
      for (const command of Object.values(COMMANDS)) palette.addItem({ command, category: CATEGORY });
    }
    app.contextMenu.addItem({ command: COMMANDS.askCell, selector: ".jp-Notebook .jp-CodeCell", rank: 20 });

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then((settings) => {
        const apply = () => {
          const wanted = settings.get("side").composite === "left" ? "left" : "right";
          if (wanted !== side) {
            side = wanted;
            app.shell.add(sidebar, side, { rank: 900 });
          }
          errorButtons.setEnabled(settings.get("errorButton").composite !== false);
        };
        apply();
        settings.changed.connect(apply);
      });
    }
  },
};

export default [plugin];
