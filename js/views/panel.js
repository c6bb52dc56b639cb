// @ts-check
// The chat panel's view: DOM only, following its controller. It builds the panel's frame (header, toolbar,
// slots, transcript, compose box), routes the controller's change events to the renderers of views/, and
// says where keyboard focus goes after each action.

import { searchHistory, setHistoryFilter, toggleHistory } from "../history.js";
import { el, HOOK } from "../util.js";
import { reveal, toggleDock } from "./dock.js";
import { renderHistoryFilters, renderHistoryItems, renderHistoryOpen } from "./history.js";
import { onPanelKey } from "./keys.js";
import { renderOffer } from "./offer.js";
import { askClose, renderError, renderSession, renderStatus } from "./status.js";
import { extendStream, jumpToLatest, nearBottom, renderMessages, setUnseen } from "./transcript.js";

/** @typedef {import("../controller.js").Controller} Controller */

/** @typedef {import("../types.js").PanelError} PanelError */

const HISTORY_DEBOUNCE_MS = 200;

export class PanelView {
  /**
   * @param {Controller} ctrl @param {HTMLElement} root
   * @param {{hostName?: string}} [options] `hostName`: the host that mounted the panel (mountChat), which
   *   handles the page's host events; the in-notebook widget has none
   */
  constructor(ctrl, root, { hostName = "" } = {}) {
    this.ctrl = ctrl;
    this.root = root;
    this.hostName = hostName;
    /** @type {Map<string, HTMLElement>} */
    this.nodes = new Map(); // key -> li
    /** @type {string|null} what gets focus once the next render has it on screen */
    this.wantFocus = null;
    this.docked = false;
    this.unseen = false;
    this.painting = false;
    this.greetingKey = "";
    /** @type {HTMLElement|null} */
    this.placeholder = null;
    /** @type {{error: PanelError, anchor: HTMLElement|null, node: HTMLElement, retries: boolean}|null} */
    this.shownError = null;
    this.contextNode = el("div", { hook: "context", class: "tutornb-context" });
    this.sessionBadge = el("span", { class: "tutornb-badge tutornb-session-state", hidden: true });
    this.phaseNode = el("span", { hook: "phase", class: "tutornb-badge tutornb-phase", title: "Phase" });
    this.statusNode = el("span", { hook: "status", class: "tutornb-status", role: "status" });
    // A div, not <header>: inside a notebook output it must not count as the page's banner landmark.
    const header = el("div", { class: "tutornb-header" }, [
      this.contextNode,
      el("div", { class: "tutornb-badges" }, [this.sessionBadge, this.phaseNode, this.statusNode]),
    ]);

    this.pauseButton = el("button", {
      type: "button",
      hook: "pause",
      class: "tutornb-button",
      text: "Pause",
      onClick: () => this.act(ctrl.changeStatus("pause"), "resume"),
    });
    this.resumeSlot = el("span", { class: "tutornb-slot" });
    this.closeButton = el("button", {
      type: "button",
      hook: "close",
      class: "tutornb-button",
      text: "Close…",
      title: "End this session for good",
      "aria-haspopup": "true",
      onClick: () => askClose(this),
    });
    this.exportFormat = el("select", { class: "tutornb-select", "aria-label": "Export format" }, [
      el("option", { value: "json", text: "JSON" }),
      el("option", { value: "markdown", text: "Markdown" }),
      el("option", { value: "ipynb", text: "Notebook" }),
    ]);
    this.exportButton = el("button", {
      type: "button",
      hook: "export",
      class: "tutornb-button",
      text: "Export",
      onClick: () => ctrl.exportSession(this.exportFormat.value),
    });
    this.historyButton = el("button", {
      type: "button",
      hook: "history",
      class: "tutornb-button",
      text: "History",
      "aria-expanded": "false",
      onClick: () => this.toggleHistory(),
    });
    this.dockButton = el("button", {
      type: "button",
      hook: "dock",
      class: "tutornb-button",
      text: "Dock",
      "aria-pressed": "false",
      title: "Keep the chat in view while you work in the notebook",
      onClick: () => toggleDock(this),
    });
    this.newButtonSlot = el("span", { class: "tutornb-slot" });
    const toolbar = el("div", { class: "tutornb-toolbar", role: "group", "aria-label": "Session controls" }, [
      this.pauseButton,
      this.resumeSlot,
      this.closeButton,
      this.newButtonSlot,
      el("span", { class: "tutornb-spacer" }),
      this.exportFormat,
      this.exportButton,
      this.historyButton,
      this.dockButton,
    ]);

    this.confirmSlot = el("div", { class: "tutornb-slot" });
    this.noteNode = el("p", { class: "tutornb-note" });
    this.connectionNode = el("p", { class: "tutornb-connection", hidden: true });
    this.pausedNode = el("p", {
      class: "tutornb-paused",
      hidden: true,
      text: "This session is paused. Resume it, or just send a message, to continue.",
    });
    this.elsewhereSlot = el("div", { class: "tutornb-slot" });
    this.errorSlot = el("div", { class: "tutornb-slot" });
    this.offerSlot = el("div", { class: "tutornb-slot" });
    /** @type {any} */
    let timer = null;
    this.historySearch = el("input", {
      type: "search",
      hook: "history-search",
      class: "tutornb-input-line",
      placeholder: "Search titles and messages",
      "aria-label": "Search past sessions",
    });
    this.historySearch.addEventListener("input", () => {
      ctrl.history.q = this.historySearch.value;
      clearTimeout(timer);
      timer = setTimeout(() => searchHistory(ctrl), HISTORY_DEBOUNCE_MS);
    });
    this.courseFilter = el("select", { class: "tutornb-select", "data-filter": "course", "aria-label": "Course" });
    this.moduleFilter = el("select", { class: "tutornb-select", "data-filter": "module", "aria-label": "Module" });
    this.statusFilter = el("select", { class: "tutornb-select", "data-filter": "status", "aria-label": "Status" }, [
      el("option", { value: "", text: "Any status" }),
      el("option", { value: "active", text: "Active" }),
      el("option", { value: "paused", text: "Paused" }),
      el("option", { value: "closed", text: "Closed" }),
    ]);
    this.courseFilter.addEventListener("change", () => setHistoryFilter(ctrl, "course_id", this.courseFilter.value));
    this.moduleFilter.addEventListener("change", () => setHistoryFilter(ctrl, "module_id", this.moduleFilter.value));
    this.statusFilter.addEventListener("change", () => setHistoryFilter(ctrl, "status", this.statusFilter.value));
    this.historyList = el("ul", { class: "tutornb-history-list", "aria-label": "Past sessions" });
    this.historyInfo = el("p", { class: "tutornb-muted", "aria-live": "polite" });
    const drawer = el("section", { class: "tutornb-history", "aria-label": "Session history", hidden: true }, [
      el("div", { class: "tutornb-history-filters" }, [
        this.historySearch,
        this.courseFilter,
        this.moduleFilter,
        this.statusFilter,
      ]),
      this.historyInfo,
      this.historyList,
    ]);
    drawer.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.toggleHistory(false);
    });
    this.historySlot = drawer;
    this.greetingSlot = el("div", { class: "tutornb-slot" });
    this.listNode = el("ol", { class: "tutornb-list" });
    this.messagesNode = el(
      "div",
      {
        hook: "messages",
        class: "tutornb-messages",
        role: "log",
        "aria-live": "polite",
        "aria-label": "Conversation",
        tabindex: "0",
      },
      [this.listNode],
    );
    this.messagesNode.addEventListener("scroll", () => {
      if (nearBottom(this)) setUnseen(this, false);
    });
    this.jumpButton = el("button", {
      type: "button",
      hook: "jump-latest",
      class: "tutornb-button tutornb-jump",
      text: "↓ Jump to latest",
      hidden: true,
      onClick: () => jumpToLatest(this),
    });
    const logWrap = el("div", { class: "tutornb-log-wrap" }, [this.messagesNode, this.jumpButton]);
    this.typingNode = el("div", { class: "tutornb-typing", "aria-hidden": "true", hidden: true }, [
      el("span", { class: "tutornb-dot" }),
      el("span", { class: "tutornb-dot" }),
      el("span", { class: "tutornb-dot" }),
      el("span", { class: "tutornb-typing-label", text: "Tutor is typing" }),
    ]);
    // The typing state, announced politely to screen readers (the dots above are decoration).
    this.announceNode = el("span", { class: "tutornb-sr-only", role: "status", "aria-live": "polite" });
    this.input = el("textarea", {
      hook: "input",
      class: "tutornb-input",
      rows: 2,
      placeholder: "Ask the tutor… (Enter to send, Shift+Enter for a new line)",
      "aria-label": "Message to the tutor",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      if (!event.shiftKey) {
        this.submit();
        return;
      }
      // Inserted by the panel itself (as typed text, so Undo still works).
      if (!document.execCommand("insertText", false, "\n")) {
        this.input.setRangeText("\n", this.input.selectionStart, this.input.selectionEnd, "end");
      }
    });
    this.stopButton = el("button", {
      type: "button",
      hook: "stop",
      class: "tutornb-button",
      text: "Stop",
      title: "Stop the tutor's answer here",
      hidden: true,
      onClick: () => this.stop(),
    });
    this.sendButton = el("button", {
      type: "submit",
      hook: "send",
      class: "tutornb-button tutornb-primary",
      text: "Send",
    });
    const form = el(
      "form",
      {
        class: "tutornb-compose",
        onSubmit: (/** @type {Event} */ event) => {
          event.preventDefault();
          this.submit();
        },
      },
      [this.input, this.stopButton, this.sendButton],
    );

    this.panel = el(
      "section",
      { hook: "panel", class: "tutornb", "aria-label": "Tutor chat", "data-lm-suppress-shortcuts": "true" },
      [
        header,
        toolbar,
        this.confirmSlot,
        this.noteNode,
        this.connectionNode,
        this.pausedNode,
        this.elsewhereSlot,
        this.errorSlot,
        this.offerSlot,
        this.historySlot,
        this.greetingSlot,
        logWrap,
        this.typingNode,
        this.announceNode,
        form,
      ],
    );
    // Keys typed in the panel belong to the panel: JupyterLab listens on the document (bubbling), where its
    // notebook shortcuts (b, a, d d, arrows, Shift+Enter …) would act on the notebook around the panel.
    // The panel's own controls have already seen the key when it bubbles up here. Ctrl/⌘ shortcuts (save,
    // undo) stay JupyterLab's, except with Enter.
    const keep = (/** @type {KeyboardEvent} */ event) => {
      if ((event.ctrlKey || event.metaKey) && event.key !== "Enter") return;
      event.stopPropagation();
    };
    this.panel.addEventListener("keydown", (event) => {
      onPanelKey(this, event);
      keep(event);
    });
    this.panel.addEventListener("keyup", keep);
    this.panel.addEventListener("keypress", keep);
    this.root.replaceChildren(this.panel);
    this.unsubscribe = ctrl.subscribe((kind, detail) => this.update(kind, detail));
    this.update("all");
  }

  // -- actions (each one says where focus goes next) ---------------------------------------------------

  /** @param {Promise<any>} work @param {string} focus */
  async act(work, focus) {
    this.wantFocus = focus;
    await work;
    this.applyFocus();
  }

  /** @param {boolean} [open] */
  async toggleHistory(open) {
    const opening = open === undefined ? !this.ctrl.history.open : open;
    if (!opening) this.wantFocus = "history";
    else this.wantFocus = "history-search";
    await toggleHistory(this.ctrl, opening);
    this.applyFocus();
  }

  stop() {
    if (this.ctrl.stop()) this.wantFocus = "input";
    this.applyFocus();
  }

  async submit() {
    const text = this.input.value;
    if (!text.trim()) return;
    this.input.value = "";
    const sent = await this.ctrl.sendText(text);
    if (!sent && !this.input.value) this.input.value = text; // never lose what the learner typed
    this.input.focus();
  }

  applyFocus() {
    const want = this.wantFocus;
    if (!want) return;
    /** @type {HTMLElement|null} */
    let target = null;
    if (want === "input") target = this.input.disabled ? null : this.input;
    else if (want === "resume") target = this.panel.querySelector(`[${HOOK}="resume"]`);
    else if (want === "new-session") target = this.panel.querySelector(`[${HOOK}="new-session"]`);
    else if (want === "history") target = this.historyButton;
    else if (want === "history-search") target = this.ctrl.history.open ? this.historySearch : null;
    else if (want === "next-question") {
      const open = this.listNode.querySelector(`[${HOOK}="quiz"][data-open="true"] [${HOOK}="choice"]`);
      if (open) target = /** @type {HTMLElement} */ (open);
      else if (!this.ctrl.turnActive) target = this.input;
    }
    if (target && !(/** @type {any} */ (target).disabled)) {
      this.wantFocus = null;
      target.focus();
    }
  }

  /** @param {string} kind @param {any} [detail] */
  update(kind, detail) {
    if (kind === "delta") {
      extendStream(this, detail);
      return;
    }
    if (kind === "reveal") {
      reveal(this);
      return;
    }
    if (this.ctrl.returnedText !== null) {
      // A message the server refused for good comes back to the input box, unless it holds a draft.
      if (!this.input.value) this.input.value = this.ctrl.returnedText;
      this.ctrl.returnedText = null;
    }
    if (kind === "all" || kind === "status") renderStatus(this);
    if (kind === "all" || kind === "session") renderSession(this);
    if (kind === "all") renderOffer(this);
    if (kind === "all" || kind === "history") renderHistoryOpen(this);
    if (kind === "all" || kind === "history-filters") renderHistoryFilters(this);
    if (kind === "all" || kind === "history-items") renderHistoryItems(this);
    if (kind === "all" || kind === "messages" || kind === "session" || kind === "error") renderMessages(this);
    if (kind === "all" || kind === "error" || kind === "messages") renderError(this);
    this.applyFocus();
  }

  // -- messages ----------------------------------------------------------------------------------------

  dispose() {
    this.unsubscribe();
    if (this.docked) this.panel.remove();
    this.root.replaceChildren();
  }
}
