// @ts-check
// One message of the transcript: its bubble, code actions, citations and quiz buttons.

import { learnerBefore } from "../frames.js";
import {
  copyText,
  documentTab,
  insertCodeBelow,
  jumpToCell,
  notebookCells,
  notebookOf,
  selectTab,
  shownNotebook,
} from "../notebook.js";
import { sanitizeHtml } from "../sanitizer.js";
import { basename, clockTime, el, LETTERS } from "../util.js";
import { PanelView } from "./panel.js";
import { citationText } from "./text.js";

/** @typedef {import("../types.js").Citation} Citation */
/** @typedef {import("../types.js").QuizPrompt} QuizPrompt */
/** @typedef {import("../types.js").StoredMessage} StoredMessage */

/** @param {string} role @param {string|undefined} createdAt */
export function messageHead(role, createdAt) {
  const label = role === "learner" ? "You" : role === "tutor" ? "Tutor" : "Note";
  const head = el("span", { class: "tutornb-role" }, [label]);
  if (createdAt) {
    const when = new Date(createdAt);
    head.append(
      " ",
      el("time", {
        class: "tutornb-time",
        datetime: createdAt,
        title: Number.isNaN(when.getTime()) ? "" : when.toLocaleString(),
        text: clockTime(createdAt),
      }),
    );
  }
  return head;
}

/** @param {StoredMessage} message @param {PanelView} view */
export function messageNode(view, message) {
  const ctrl = view.ctrl;
  const role = message.role || "system";
  const body = el("div", { class: "tutornb-body" });
  if (role === "learner") {
    // The learner's own words as typed: line breaks (a pasted traceback) kept, nothing interpreted.
    body.append(el("div", { class: "tutornb-text", text: message.text || "" }));
    if (message.work?.code) {
      body.append(
        el("div", { class: "tutornb-work" }, [
          el("span", {
            class: "tutornb-muted",
            text:
              message.work.cell_index !== undefined && message.work.cell_index !== null
                ? `Your code (cell ${Number(message.work.cell_index) + 1})`
                : "Your code",
          }),
          el("pre", {}, [el("code", { text: message.work.code })]),
          message.work.error
            ? el("pre", { class: "tutornb-work-error" }, [el("code", { text: message.work.error })])
            : null,
        ]),
      );
    }
  } else if (message.html) {
    body.append(sanitizeHtml(message.html, ctrl.model.get("sanitizer_policy")));
    if (message.quiz) dropChoiceList(body);
    addCodeActions(view, body);
  } else {
    body.append(el("div", { class: "tutornb-text", text: message.text || "" }));
  }
  const li = el(
    "li",
    { hook: "message", "data-role": role, "data-seq": message.seq, class: `tutornb-message tutornb-${role}` },
    [messageHead(role, message.created_at), body],
  );
  if (message.interrupted) {
    li.dataset.interrupted = message.interrupted;
    const mark = el("span", {
      class: "tutornb-mark",
      "data-mark": message.interrupted,
      text:
        message.interrupted === "stopped"
          ? "■ Stopped — you ended this answer here."
          : "⚠ Cut off — the answer did not arrive in full. ",
    });
    const asked = learnerBefore(ctrl, message.seq || 0);
    if (message.interrupted === "cut_off" && asked) {
      mark.append(
        el("button", {
          type: "button",
          hook: "retry",
          class: "tutornb-button tutornb-small",
          text: "Retry",
          title: "Ask this question again",
          onClick: () => {
            view.wantFocus = "input";
            ctrl.retryTurn(asked.id);
          },
        }),
      );
    }
    li.append(mark);
  }
  if (message.citations?.length) {
    li.append(
      el(
        "ul",
        { class: "tutornb-citations", "aria-label": "Sources" },
        message.citations.map((c) => el("li", { "data-cell": c.cell_index }, [citationNode(view, c)])),
      ),
    );
  }
  if (message.quiz) li.append(quizNode(view, message));
  return li;
}

/**
 * A citation: a button that jumps to the cell in this notebook, or opens the other notebook in this JupyterLab
 * (JupyterLab's CommandLinker runs `docmanager:open` from the button's data-commandlinker-* attributes; recent
 * JupyterLab 4 first asks the learner to confirm a command from a widget; a notebook already open is simply
 * shown) and then lands on the cell.
 * @param {Citation} c
 * @param {PanelView} view
 */
export function citationNode(view, c) {
  const own = view.ctrl.model.get("notebook_path") || view.ctrl.context.notebook_path || "";
  const index = Number(c.cell_index);
  if (own && c.notebook_path && c.notebook_path !== own) {
    const path = c.notebook_path;
    return el("button", {
      type: "button",
      hook: "citation",
      class: "tutornb-citation",
      "data-cell": c.cell_index,
      "data-notebook": path,
      "data-commandlinker-command": "docmanager:open",
      "data-commandlinker-args": JSON.stringify({ path, factory: "Notebook" }),
      title: `Open ${basename(path)} at cell ${index + 1}`,
      text: citationText(c),
      onClick: (/** @type {Event} */ event) => {
        // Already open: its tab is shown directly, without JupyterLab's command confirmation.
        const tab = documentTab(path);
        if (tab) {
          event.stopPropagation();
          selectTab(tab);
        }
        showCellElsewhere(view, path, index);
      },
    });
  }
  return el("button", {
    type: "button",
    hook: "citation",
    class: "tutornb-citation",
    "data-cell": c.cell_index,
    title: "Show this cell in the notebook",
    text: citationText(c),
    onClick: () => showCell(view, index),
  });
}

/** @param {number} index @param {PanelView} view */
export async function showCell(view, index) {
  const notebook = notebookOf(view.root);
  const cell = notebook ? await jumpToCell(notebook, index) : null;
  if (!cell)
    view.ctrl.showError({ code: "CELL_NOT_FOUND", message: `Cell ${index + 1} is not in this notebook any more.` });
}

/**
 * Waits for notebook `path` to be the shown notebook (JupyterLab opens it from the click), then jumps to cell
 * `index` in it. Gives up quietly when it never opens (the learner cancelled JupyterLab's confirmation).
 * @param {string} path @param {number} index
 * @param {PanelView} view
 */
export async function showCellElsewhere(view, path, index) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const notebook = shownNotebook(path);
    if (notebook && notebookCells(notebook).length) {
      const cell = await jumpToCell(notebook, index);
      if (!cell)
        view.ctrl.showError({
          code: "CELL_NOT_FOUND",
          message: `Cell ${index + 1} is not in ${basename(path)} any more.`,
        });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Copy and Insert-below buttons on every code block of a tutor message. @param {HTMLElement} body @param {PanelView} view */
export function addCodeActions(view, body) {
  for (const pre of Array.from(body.querySelectorAll("pre"))) {
    const code = () => pre.textContent || "";
    const copy = el("button", {
      type: "button",
      hook: "copy",
      class: "tutornb-button tutornb-small",
      text: "Copy",
      title: "Copy this code",
    });
    copy.addEventListener("click", async () => {
      const done = await copyText(code());
      copy.textContent = done ? "Copied" : "Copy failed";
      view.announceNode.textContent = done ? "Code copied" : "The code could not be copied";
      setTimeout(() => {
        copy.textContent = "Copy";
      }, 2000);
    });
    const insert = el("button", {
      type: "button",
      hook: "insert",
      class: "tutornb-button tutornb-small",
      text: "Insert below",
      title: "Insert this code as a new cell below",
    });
    insert.addEventListener("click", async () => {
      const cell = /** @type {HTMLElement|null} */ (view.root.closest(".jp-Cell"));
      const done = cell ? await insertCodeBelow(cell, code()) : false;
      if (!done)
        view.ctrl.showError({
          code: "INSERT_UNAVAILABLE",
          message: "A new cell could not be added here: use Copy and paste the code into a cell.",
        });
    });
    const wrap = el("div", { class: "tutornb-code" });
    pre.replaceWith(wrap);
    wrap.append(pre, el("div", { class: "tutornb-code-actions" }, [copy, insert]));
  }
}

/** @param {StoredMessage} message @param {PanelView} view */
export function quizNode(view, message) {
  const quiz = /** @type {QuizPrompt} */ (message.quiz);
  const ctrl = view.ctrl;
  const choices = (quiz.choices || []).map((choice, index) =>
    el(
      "button",
      {
        type: "button",
        hook: "choice",
        class: "tutornb-choice",
        "data-choice": index,
        onClick: () => {
          if (ctrl.answer(message, index)) view.wantFocus = "next-question";
        },
      },
      [
        el("span", { class: "tutornb-choice-key", "aria-hidden": "true", text: `${LETTERS[index]})` }),
        el("span", { class: "tutornb-sr-only", text: `${LETTERS[index]}: ` }),
        el("span", { text: choice }),
        el("span", { class: "tutornb-choice-result" }),
      ],
    ),
  );
  // The tutor's text usually carries the question already; the block then only adds the buttons.
  const said = String(message.text || "");
  const label = `Question ${quiz.number} of ${quiz.total}`;
  const showQuestion = !said.includes(quiz.question);
  return el(
    "div",
    { hook: "quiz", class: "tutornb-quiz", "data-question-id": quiz.question_id, role: "group", "aria-label": label },
    [
      said.includes(label) ? null : el("div", { class: "tutornb-muted", text: label }),
      showQuestion ? el("p", { class: "tutornb-quiz-question", text: quiz.question }) : null,
      el("div", { class: "tutornb-choices" }, choices),
      el("p", {
        class: "tutornb-muted tutornb-quiz-keys",
        text: `Press ${LETTERS.slice(0, Math.min(quiz.choices.length, 26)).split("").join(", ")} or click a choice.`,
      }),
    ],
  );
}
/** Drops the Markdown list of choices ("- **A)** …") from a quiz message: the choices are the buttons. @param {HTMLElement} body */
function dropChoiceList(body) {
  for (const list of Array.from(body.querySelectorAll("ul, ol"))) {
    const items = Array.from(list.children);
    if (items.length >= 2 && items.every((li) => /^\s*[A-Z]\)\s/.test(li.textContent || ""))) list.remove();
  }
  for (const p of Array.from(body.querySelectorAll("p"))) {
    if (/^Answer with the letter/i.test((p.textContent || "").trim())) p.remove();
  }
}
