// @ts-check
// One message of the transcript: its bubble, code actions, citations and quiz buttons.

import { learnerBefore } from "../frames.js";
import { askHost, INSERT_CODE, NAVIGATE } from "../host.js";
import { copyText, insertCodeBelow, jumpToCell, notebookOf } from "../notebook.js";
import { sanitizeHtml } from "../sanitizer.js";
import { basename, clockTime, el, LETTERS } from "../util.js";
import { citationText } from "./text.js";

/** @typedef {import("./panel.js").PanelView} PanelView */

/** @typedef {import("../types.js").Citation} Citation */

const INSERT_FAILED = "A new cell could not be added here: use Copy and paste the code into a cell.";
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
    addCodeActions(view, body, role === "tutor");
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
 * A citation: a button that asks the host to show the cited cell (`tutornb:navigate`). Without a host, a
 * cell of the notebook the panel sits in is scrolled to and made active through the notebook's DOM; a cell
 * of another notebook becomes plain text naming it (the page cannot open notebooks by itself).
 * @param {PanelView} view @param {Citation} c
 */
export function citationNode(view, c) {
  const own = view.ctrl.model.get("notebook_path") || view.ctrl.context.notebook_path || "";
  const path = c.notebook_path || own;
  const index = Number(c.cell_index);
  const here = !own || path === own;
  const button = el("button", {
    type: "button",
    hook: "citation",
    class: "tutornb-citation",
    "data-cell": c.cell_index,
    "data-notebook": path,
    title: here ? "Show this cell in the notebook" : `Open ${basename(path)} at cell ${index + 1}`,
    text: citationText(c),
  });
  button.addEventListener("click", () => {
    /** @type {Citation} */
    const detail = { notebook_path: path, cell_index: index };
    if (c.heading) detail.heading = c.heading;
    if (askHost(view.root, NAVIGATE, detail)) return;
    if (here && notebookOf(view.root)) {
      showCell(view, index);
      return;
    }
    button.replaceWith(
      el("span", {
        class: "tutornb-citation tutornb-citation-text",
        "data-cell": c.cell_index,
        "data-notebook": path,
        text: `${path} · cell ${index + 1}`,
      }),
    );
  });
  return button;
}

/** @param {PanelView} view @param {number} index */
export async function showCell(view, index) {
  const notebook = notebookOf(view.root);
  const cell = notebook ? await jumpToCell(notebook, index) : null;
  if (!cell)
    view.ctrl.showError({ code: "CELL_NOT_FOUND", message: `Cell ${index + 1} is not in this notebook any more.` });
}

/** @param {string} hook @param {string} text @param {string} title */
function actionButton(hook, text, title) {
  return el("button", { type: "button", hook, class: "tutornb-button tutornb-small", text, title });
}

/**
 * Copy on every code block of a message; Insert below (and Replace, where a host can do it) on the code
 * blocks of tutor messages. Insert and Replace ask the host first (`tutornb:insert-code`); without one,
 * Insert adds the cell below the panel's own through the notebook's toolbar, and Replace is not offered.
 * @param {PanelView} view @param {HTMLElement} body @param {boolean} tutor
 */
export function addCodeActions(view, body, tutor) {
  for (const pre of Array.from(body.querySelectorAll("pre"))) {
    const code = () => pre.textContent || "";
    const copy = actionButton("copy", "Copy", "Copy this code");
    copy.addEventListener("click", async () => {
      const done = await copyText(code());
      copy.textContent = done ? "Copied" : "Copy failed";
      view.announceNode.textContent = done ? "Code copied" : "The code could not be copied";
      setTimeout(() => {
        copy.textContent = "Copy";
      }, 2000);
    });
    const actions = [copy];
    if (tutor) {
      const insert = actionButton("insert", "Insert below", "Insert this code as a new cell below");
      insert.addEventListener("click", async () => {
        if (askHost(view.root, INSERT_CODE, { code: code(), mode: "below" })) return;
        const cell = /** @type {HTMLElement|null} */ (view.root.closest(".jp-Cell"));
        const done = cell ? await insertCodeBelow(cell, code()) : false;
        if (!done) view.ctrl.showError({ code: "INSERT_UNAVAILABLE", message: INSERT_FAILED });
      });
      actions.push(insert);
      if (view.hostName) {
        const replace = actionButton("replace", "Replace cell", "Replace the active cell's code with this code");
        replace.addEventListener("click", () => {
          if (!askHost(view.root, INSERT_CODE, { code: code(), mode: "replace" })) {
            view.ctrl.showError({ code: "INSERT_UNAVAILABLE", message: INSERT_FAILED });
          }
        });
        actions.push(replace);
      }
    }
    const wrap = el("div", { class: "tutornb-code" });
    pre.replaceWith(wrap);
    wrap.append(pre, el("div", { class: "tutornb-code-actions" }, actions));
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
