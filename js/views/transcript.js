// @ts-check
// The transcript: stored messages, streaming replies and queued learner messages in order, the greeting
// with its suggestions, scroll following and quiz state.

import { ASK_ERROR, askHost } from "../host.js";
import { renderStreamingMarkdown } from "../markdown.js";
import { el, HOOK } from "../util.js";
import { messageHead, messageNode } from "./message.js";
import { headerText } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/** @typedef {import("../types.js").StoredMessage} StoredMessage */

const ASK_ERROR_TEXT = "Why does my last cell fail, and how do I fix it?";
const SUGGESTIONS = [
  { key: "plan", label: "Plan my study", text: "Make me a study plan for this notebook" },
  { key: "quiz", label: "Quiz me", text: "Quiz me" },
  { key: "hint", label: "Give me a hint", text: "Give me a hint for the exercise" },
];

/** @param {PanelView} view */
export function renderGreeting(view) {
  const ctrl = view.ctrl;
  const empty =
    ctrl.view === "chat" &&
    !ctrl.messages.size &&
    !ctrl.outbox.length &&
    !ctrl.streaming.size &&
    !(ctrl.session && ctrl.session.status === "closed");
  const work = ctrl.model.get("last_work");
  const closed = !!(ctrl.session && ctrl.session.status === "closed");
  // Rebuilt only when what it offers changes, so a focused suggestion keeps its focus.
  const key = `${empty}|${closed}|${headerText(ctrl.context)}|${!!(work?.error)}`;
  if (key === view.greetingKey && (view.greetingSlot.firstChild || (!empty && !work?.error))) return;
  view.greetingKey = key;
  const askError = {
    key: "error",
    label: "Ask about my last error",
    text: ASK_ERROR_TEXT,
    work,
  };
  if (!empty) {
    // Whenever the last run failed, in any session (not only an empty one): one button, no greeting.
    const offer = work?.error && ctrl.view === "chat" && !closed ? [suggestionButton(view, askError)] : [];
    view.greetingSlot.replaceChildren(...offer);
    return;
  }
  /** @type {Array<{key: string, label: string, text: string, work: any, host?: boolean}>} */
  const suggestions = SUGGESTIONS.map((s) => ({ ...s, work: null }));
  if (work?.error) suggestions.push(askError);
  // A host (the JupyterLab sidebar) knows the learner's cells: it finds the last error and asks with it.
  else if (view.hostName) suggestions.push({ ...askError, work: null, host: true });
  const where = headerText(ctrl.context);
  const buttons = suggestions.map((s) => suggestionButton(view, s));
  view.greetingSlot.replaceChildren(
    el("div", { class: "tutornb-greeting" }, [
      el("p", {
        text:
          where === "General tutor"
            ? "Hi! I'm your tutor. Ask me anything, or start with one of these:"
            : `Hi! I'm your tutor for ${where}. Ask me anything about this notebook, or start with one of these:`,
      }),
      el("div", { class: "tutornb-suggestions", role: "group", "aria-label": "Suggestions" }, buttons),
    ]),
  );
}

/**
 * A suggestion's button: sends its text (and work), or asks the host to, and keeps the cursor in the
 * compose box.
 * @param {PanelView} view @param {{key: string, label: string, text: string, work: any, host?: boolean}} s
 */
function suggestionButton(view, s) {
  const ctrl = view.ctrl;
  return el("button", {
    type: "button",
    class: "tutornb-button tutornb-suggestion",
    "data-suggestion": s.key,
    text: s.label,
    onClick: async () => {
      view.wantFocus = "input";
      if (s.host) {
        if (!askHost(view.root, ASK_ERROR, {})) view.announceNode.textContent = "No error to ask about yet.";
      } else await ctrl.sendText(s.text, { work: s.work });
      view.applyFocus();
    },
  });
}

/** @param {PanelView} view */
export function nearBottom(view) {
  const list = view.messagesNode;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
}

/** @param {boolean} unseen @param {PanelView} view */
export function setUnseen(view, unseen) {
  view.unseen = unseen;
  view.jumpButton.hidden = !unseen;
}

/** @param {PanelView} view */
export function jumpToLatest(view) {
  view.messagesNode.scrollTop = view.messagesNode.scrollHeight;
  setUnseen(view, false);
  view.input.focus();
}

/** @param {boolean} wasNearBottom @param {PanelView} view */
export function followScroll(view, wasNearBottom) {
  if (wasNearBottom) {
    view.messagesNode.scrollTop = view.messagesNode.scrollHeight;
    setUnseen(view, false);
  } else {
    setUnseen(view, true);
  }
}

/** @param {PanelView} view */
export function renderMessages(view) {
  const ctrl = view.ctrl;
  const list = view.listNode;
  const wasNearBottom = nearBottom(view);
  const stored = Array.from(ctrl.messages.values()).sort((a, b) => (a.seq || 0) - (b.seq || 0));
  /** @type {Array<[string, HTMLElement]>} */
  const wanted = [];
  for (const message of stored) {
    const key = `m:${message.id}`;
    let node = view.nodes.get(key);
    if (!node) node = messageNode(view, message);
    wanted.push([key, node]);
  }
  for (const [id, text] of ctrl.streaming) {
    if (ctrl.messages.has(id)) continue;
    const key = `s:${id}`;
    let node = view.nodes.get(key);
    if (!node) {
      node = el(
        "li",
        {
          hook: "message",
          "data-role": "tutor",
          "data-streaming": "true",
          class: "tutornb-message tutornb-tutor tutornb-streaming",
        },
        [
          messageHead("tutor", undefined),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text tutornb-md" })]),
        ],
      );
    }
    paintStream(node, text, view.ctrl.model.get("sanitizer_policy"));
    wanted.push([key, node]);
  }
  const online = ctrl.connection === "online";
  const storedIds = new Set(stored.map((m) => m.client_id).filter(Boolean));
  for (const entry of ctrl.outbox) {
    if (storedIds.has(entry.client_id)) continue; // a retried question: it is on screen already
    const key = `p:${entry.client_id}`;
    let node = view.nodes.get(key);
    if (!node) {
      node = el(
        "li",
        {
          hook: "message",
          "data-role": "learner",
          "data-pending": "true",
          "data-client-id": entry.client_id,
          class: "tutornb-message tutornb-learner tutornb-pending",
        },
        [
          messageHead("learner", undefined),
          el("div", { class: "tutornb-body" }, [el("div", { class: "tutornb-text", text: entry.text })]),
          el("span", { class: "tutornb-pending-note" }),
        ],
      );
    }
    const state = entry.failed
      ? "failed"
      : online && ctrl.session && ctrl.session.status === "active"
        ? "sending"
        : "queued";
    const note = /** @type {HTMLElement} */ (node.querySelector(".tutornb-pending-note"));
    note.textContent = entry.failed
      ? `Not sent yet (${entry.failed.code})`
      : state === "sending"
        ? "Sending…"
        : "Queued: it will be sent when the connection is back.";
    node.dataset.failed = entry.failed ? "true" : "false";
    node.dataset.queue = state;
    wanted.push([key, node]);
  }
  const keep = new Set(wanted.map(([key]) => key));
  for (const [key, node] of view.nodes) {
    if (!keep.has(key)) {
      node.remove();
      view.nodes.delete(key);
    }
  }
  const grew = wanted.some(([key]) => !view.nodes.has(key));
  wanted.forEach(([key, node], index) => {
    view.nodes.set(key, node);
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
  });
  updateQuizzes(view, stored);
  renderGreeting(view);
  view.typingNode.hidden = !ctrl.typing;
  view.announceNode.textContent = ctrl.typing ? "Tutor is typing…" : "";
  view.stopButton.hidden = !ctrl.turnActive || !ctrl.chat;
  view.stopButton.disabled = ctrl.stopping;
  if (view.stopButton.hidden && document.activeElement === view.stopButton) view.input.focus();
  if (grew) followScroll(view, wasNearBottom || wanted.length <= 2);
}

/** The streamed text as Markdown, re-rendered as it grows (blocks keep their place: no jumps). @param {HTMLElement} node @param {string} text
 * @param {import("../types.js").SanitizerPolicy|null} policy */
export function paintStream(node, text, policy) {
  const body = /** @type {HTMLElement} */ (node.querySelector(".tutornb-text"));
  if (body.dataset.length === String(text.length)) return;
  body.dataset.length = String(text.length);
  body.replaceChildren(renderStreamingMarkdown(text, policy));
}

/** One more delta of a streaming reply: its bubble is re-painted, at most once per frame. @param {PanelView} view @param {{id: string, text: string}} detail */
export function extendStream(view, { id }) {
  const node = view.nodes.get(`s:${id}`);
  if (!node) {
    renderMessages(view);
    return;
  }
  if (view.painting) return;
  view.painting = true;
  const paint = () => {
    view.painting = false;
    const text = view.ctrl.streaming.get(id);
    if (text === undefined || !node.isConnected) return;
    const wasNearBottom = nearBottom(view);
    paintStream(node, text, view.ctrl.model.get("sanitizer_policy"));
    view.typingNode.hidden = !view.ctrl.typing;
    if (wasNearBottom) view.messagesNode.scrollTop = view.messagesNode.scrollHeight;
    else setUnseen(view, true);
  };
  if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible")
    requestAnimationFrame(paint);
  else paint();
}

/** @param {StoredMessage[]} stored @param {PanelView} view */
export function updateQuizzes(view, stored) {
  // Only the newest question, with no tutor message after it, can still be answered.
  const ctrl = view.ctrl;
  let lastTutor = null;
  for (const message of stored) if (message.role === "tutor") lastTutor = message;
  const active = ctrl.session && ctrl.session.status === "active";
  for (const message of stored) {
    if (!message.quiz) continue;
    const node = view.nodes.get(`m:${message.id}`);
    if (!node) continue;
    const answeredHere = ctrl.answered.has(`${message.id}:${message.quiz.question_id}`);
    const open = !!active && message === lastTutor && !answeredHere;
    const result =
      ctrl.quizResults.get(message.id) ||
      (message === lastTutor ? null : ctrl.storedResults.get(message.quiz.question_id)) ||
      null;
    const quiz = node.querySelector(`[${HOOK}="quiz"]`);
    if (quiz) quiz.setAttribute("data-open", String(open));
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (node.querySelectorAll(`[${HOOK}="choice"]`))) {
      button.disabled = !open;
      const chosen = !!result && result.choice === Number(button.dataset.choice);
      const mark = /** @type {HTMLElement} */ (button.querySelector(".tutornb-choice-result"));
      if (chosen) {
        button.dataset.chosen = "true";
        button.setAttribute("aria-pressed", "true");
        const verdict = result && result.correct === true ? "right" : result && result.correct === false ? "wrong" : "";
        if (verdict) button.dataset.result = verdict;
        mark.textContent = verdict === "right" ? " ✓ right" : verdict === "wrong" ? " ✗ wrong" : " (your answer)";
      } else {
        delete button.dataset.chosen;
        button.removeAttribute("aria-pressed");
        mark.textContent = "";
      }
    }
  }
}
