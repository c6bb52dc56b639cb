// @ts-check
// The panel's header badges, connection note, session controls and the error banner.

import { retryOutbox } from "../outbox.js";
import { el } from "../util.js";
import { headerText } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/** @param {PanelView} view */
export function renderStatus(view) {
  const state = view.ctrl.connection;
  view.statusNode.dataset.state = state;
  view.statusNode.textContent = state === "signed-out" ? "signed out" : state;
  view.panel.dataset.connection = state;
  const notes = {
    reconnecting: "Reconnecting to the tutor… Messages you send now are queued and go out when the connection is back.",
    offline:
      "Offline: the tutor cannot be reached. Messages you send now are queued and go out when the connection is back.",
  };
  const note = /** @type {Record<string, string>} */ (notes)[state] || "";
  view.connectionNode.textContent = note;
  view.connectionNode.hidden = !note;
  view.connectionNode.dataset.state = state;
}

/** @param {PanelView} view */
export function renderSession(view) {
  const ctrl = view.ctrl;
  const session = ctrl.session;
  const context = { ...ctrl.context, ...(session?.context || {}) };
  const header = headerText(context);
  const named = session?.title && !header.endsWith(session.title);
  const title = named ? el("span", { class: "tutornb-muted", text: ` — ${session?.title}` }) : "";
  view.contextNode.replaceChildren(el("span", { class: "tutornb-context-title", text: header }), title);
  view.panel.setAttribute("aria-label", `Tutor chat: ${header}`);
  const note = ctrl.model.get("note");
  view.noteNode.textContent = note || "";
  view.noteNode.hidden = !note;
  view.phaseNode.textContent = session ? session.phase || "…" : "no session";
  view.phaseNode.dataset.phase = session ? session.phase || "" : "";
  const status = session ? session.status : null;
  const chatting = ctrl.view === "chat";
  view.panel.dataset.sessionStatus = status || "none";
  view.sessionBadge.textContent = status || "";
  view.sessionBadge.hidden = !chatting || !status || status === "active";
  view.sessionBadge.dataset.status = status || "";
  // A closed session is over: "closed" alone, not "closed" beside the phase it ended in.
  view.phaseNode.hidden = status === "closed";
  view.pausedNode.hidden = !chatting || status !== "paused";
  view.pauseButton.disabled = status !== "active" || !chatting;
  view.closeButton.disabled = !session || status === "closed" || !chatting;
  view.exportButton.disabled = !session;
  view.exportFormat.disabled = !session;
  if (status === "closed" || !chatting) view.confirmSlot.replaceChildren();
  // Only one element carries each hook at a time: the toolbar's Resume exists only for a paused session.
  if (status === "paused" && chatting) {
    if (!view.resumeSlot.firstChild) {
      view.resumeSlot.append(
        el("button", {
          type: "button",
          hook: "resume",
          class: "tutornb-button tutornb-primary",
          text: "Resume",
          onClick: () => view.act(ctrl.changeStatus("resume"), "input"),
        }),
      );
    }
  } else view.resumeSlot.replaceChildren();
  // "New session" whenever a session is on screen (the resume offer has its own).
  if (session && status && chatting) {
    if (!view.newButtonSlot.firstChild) {
      view.newButtonSlot.append(
        el("button", {
          type: "button",
          hook: "new-session",
          class: "tutornb-button",
          text: "New session",
          onClick: () => {
            view.wantFocus = "input";
            ctrl.startNew();
          },
        }),
      );
    }
    /** @type {HTMLElement} */ (view.newButtonSlot.firstChild).classList.toggle("tutornb-primary", status === "closed");
  } else view.newButtonSlot.replaceChildren();
  if (ctrl.view === "elsewhere") {
    view.elsewhereSlot.replaceChildren(
      el("p", { class: "tutornb-elsewhere", role: "status" }, [
        "This session is already open in another tutor panel on this page. ",
        el("button", {
          type: "button",
          class: "tutornb-button",
          text: "Go to it",
          onClick: () => session && ctrl.liveElsewhere(session.id)?.emit("reveal"),
        }),
      ]),
    );
  } else view.elsewhereSlot.replaceChildren();
  const closed = status === "closed";
  const off = closed || ctrl.view === "offer" || ctrl.connection === "signed-out";
  view.input.disabled = off;
  view.sendButton.disabled = off;
  view.input.placeholder = closed
    ? "This session is closed. Start a new one to keep learning."
    : "Ask the tutor… (Enter to send, Shift+Enter for a new line)";
}

/** The error element (hook "error"): under the message it concerns, or as the panel's banner. @param {PanelView} view */
export function renderError(view) {
  const ctrl = view.ctrl;
  const error = ctrl.error;
  const anchor = error?.concern ? view.nodes.get(error.concern) || null : null;
  const shown = view.shownError;
  // Re-rendered only when it changes: an alert rebuilt on every frame would be announced again and again.
  if (
    shown &&
    shown.error === error &&
    shown.anchor === anchor &&
    shown.node.isConnected &&
    shown.retries === ctrl.outbox.length > 0
  )
    return;
  for (const stale of view.listNode.querySelectorAll(".tutornb-inline-error")) stale.remove();
  view.shownError = null;
  if (!error) {
    view.errorSlot.replaceChildren();
    return;
  }
  /** @type {HTMLElement|null} */
  let retry = null;
  if (error.code === "SIGNED_OUT") {
    retry = el("button", {
      type: "button",
      class: "tutornb-button tutornb-primary",
      text: "Reload page",
      onClick: () => globalThis.location.reload(),
    });
  } else if (error.concern?.startsWith("m:")) {
    const id = error.concern.slice(2);
    retry = el("button", {
      type: "button",
      hook: "retry",
      class: "tutornb-button",
      text: "Retry",
      onClick: () => {
        view.wantFocus = "input";
        ctrl.retryTurn(id);
      },
    });
  } else if (ctrl.outbox.length) {
    retry = el("button", {
      type: "button",
      hook: "retry",
      class: "tutornb-button",
      text: "Retry",
      onClick: () => {
        view.wantFocus = "input";
        retryOutbox(ctrl);
      },
    });
  }
  const text =
    error.code && error.message && error.message !== error.code
      ? `${error.message} (${error.code})`
      : error.message || error.code;
  const node = el("div", { hook: "error", class: "tutornb-error", role: "alert", "data-code": error.code }, [
    el("span", { class: "tutornb-error-text", text }),
    retry,
    el("button", {
      type: "button",
      class: "tutornb-button tutornb-icon",
      text: "×",
      "aria-label": "Dismiss",
      onClick: () => {
        view.wantFocus = "input";
        ctrl.clearError();
      },
    }),
  ]);
  if (anchor) {
    node.classList.add("tutornb-inline-error");
    view.errorSlot.replaceChildren();
    anchor.append(node);
  } else {
    view.errorSlot.replaceChildren(node);
  }
  view.shownError = { error, anchor, node, retries: ctrl.outbox.length > 0 };
}

/** @param {PanelView} view */
export function askClose(view) {
  const cancel = el("button", {
    type: "button",
    class: "tutornb-button",
    "data-action": "cancel-close",
    text: "Keep it",
    onClick: () => {
      view.confirmSlot.replaceChildren();
      view.closeButton.focus();
    },
  });
  const confirm = el("button", {
    type: "button",
    class: "tutornb-button tutornb-danger",
    "data-action": "confirm-close",
    text: "End session",
    onClick: () => {
      view.confirmSlot.replaceChildren();
      view.act(view.ctrl.changeStatus("close"), "new-session");
    },
  });
  const box = el(
    "div",
    { class: "tutornb-confirm", role: "alertdialog", "aria-label": "End this session?", "aria-describedby": "" },
    [
      el("span", {
        class: "tutornb-confirm-text",
        text: "End this session for good? You can still read and export it from History, but not continue it. (Pause keeps it open.)",
      }),
      confirm,
      cancel,
    ],
  );
  box.removeAttribute("aria-describedby");
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel.click();
  });
  view.confirmSlot.replaceChildren(box);
  cancel.focus();
}
