// @ts-check
// The chat frames of docs/architecture.md as they change the controller's state: session, ack, message,
// delta, state and error.

import { learnerErrorText } from "./errors.js";
import { dropFromOutbox, dropStoredFromOutbox, flushOutbox, requestResume, retrySoon, saveOutbox } from "./outbox.js";

/** @typedef {import("./controller.js").Controller} Controller */

/** @typedef {import("./types.js").Frame} Frame */
/** @typedef {import("./types.js").SessionInfo} SessionInfo */
/** @typedef {import("./types.js").StoredMessage} StoredMessage */

// Refusals that sending again cannot fix: the message leaves the outbox and goes back to the input
// box for the learner to edit. Any other error (STORE_UNAVAILABLE, QUOTA_EXCEEDED, RATE_LIMITED, a
// paused session, …) keeps it in the outbox for the next retry.
const PERMANENT_REFUSALS = new Set(["PAYLOAD_TOO_LARGE", "INVALID_REQUEST"]);
// Refusals that pass by themselves: the outbox is sent again after a pause, without waiting for
// the learner to press Retry.
const RETRY_SOON = new Set(["RATE_LIMITED", "STORE_UNAVAILABLE"]);

/** The graded result a tutor reply announces ("✅ **Correct!**" / "❌ **Not quite.**"), if any. @param {string|undefined} text */
function gradeIn(text) {
  const head = String(text || "").slice(0, 60);
  if (/^\s*(✅|\*\*correct|correct!)/i.test(head)) return true;
  if (/^\s*(❌|\*\*not quite|not quite)/i.test(head)) return false;
  return null;
}

/** @param {string} sessionId @param {Frame} frame @param {Controller} ctrl */
export function onFrame(ctrl, sessionId, frame) {
  if (!ctrl.session || ctrl.session.id !== sessionId || !frame || typeof frame !== "object") return;
  switch (frame.type) {
    case "session":
      return onSession(ctrl, frame.session || {});
    case "ack":
      return onAck(ctrl, frame);
    case "message":
      return onStoredMessage(ctrl, frame.message, frame.stream_id);
    case "delta":
      return onDelta(ctrl, frame);
    case "state":
      return onState(ctrl, frame.session || {});
    case "error":
      return onErrorFrame(ctrl, frame);
    default:
      return undefined;
  }
}

/** @param {Record<string, any>} summary @param {Controller} ctrl */
export function mergeSession(ctrl, summary) {
  const { messages, ...rest } = summary;
  ctrl.session = /** @type {SessionInfo} */ ({ ...ctrl.session, ...rest });
}

/** @param {SessionInfo} detail @param {Controller} ctrl */
export function onSession(ctrl, detail) {
  ctrl.epoch += 1;
  ctrl.resumeSentEpoch = -1;
  mergeSession(ctrl, detail);
  ctrl.messages = new Map();
  for (const message of detail.messages || []) ctrl.messages.set(message.id, message);
  const answers = detail.state?.quiz && Array.isArray(detail.state.quiz.answers) ? detail.state.quiz.answers : [];
  for (const answer of answers) {
    ctrl.storedResults.set(String(answer.question_id), { choice: Number(answer.choice), correct: !!answer.correct });
  }
  ctrl.streaming.clear();
  ctrl.typing = false;
  ctrl.stopping = false;
  dropStoredFromOutbox(ctrl);
  const session = /** @type {SessionInfo} */ (ctrl.session);
  if (session.status === "paused" && (ctrl.wantActive || ctrl.outbox.length)) requestResume(ctrl);
  flushOutbox(ctrl);
  ctrl.emit("all");
}

/** @param {Frame} frame @param {Controller} ctrl */
export function onAck(ctrl, frame) {
  const message = frame.message;
  dropFromOutbox(ctrl, (clientId) => clientId === frame.client_id);
  const retried = ctrl.retrying.delete(String(frame.client_id));
  if (message?.id) {
    // An ack for a message already on screen is a resend's: no new tutor turn follows it, unless the
    // learner asked for one (Retry).
    if (ctrl.messages.has(message.id) && !retried) ctrl.typing = false;
    ctrl.messages.set(message.id, message);
  }
  if (
    ctrl.error &&
    ["RATE_LIMITED", "STORE_UNAVAILABLE", "QUOTA_EXCEEDED"].includes(ctrl.error.code) &&
    !ctrl.outbox.some((e) => e.failed)
  ) {
    ctrl.error = null;
    ctrl.emit("error");
  }
  ctrl.emit("messages");
}

// A tutor message names the stream its deltas came on (`stream_id`): that bubble becomes the message.
/** @param {StoredMessage|undefined} message @param {string|undefined} streamId @param {Controller} ctrl */
export function onStoredMessage(ctrl, message, streamId) {
  if (!message?.id || !ctrl.session) return;
  ctrl.messages.set(message.id, message);
  if (message.client_id) dropFromOutbox(ctrl, (clientId) => clientId === message.client_id);
  if (message.role === "tutor") {
    const known = ctrl.streaming.delete(String(streamId)) || ctrl.streaming.delete(message.id);
    if (!known && ctrl.streaming.size === 1) ctrl.streaming.clear();
    ctrl.typing = false;
    ctrl.stopping = false;
    // A failed turn's error goes once a reply arrives; an unsent message's error stays until it is sent.
    if (ctrl.error?.concern?.startsWith("m:")) ctrl.error = null;
    const grade = gradeIn(message.text);
    if (grade !== null && ctrl.lastAnswered) {
      const result = ctrl.quizResults.get(ctrl.lastAnswered);
      if (result && result.correct === null) result.correct = grade;
      ctrl.lastAnswered = null;
    }
  }
  ctrl.session = { ...ctrl.session, message_count: Math.max(ctrl.session.message_count || 0, message.seq || 0) };
  ctrl.emit("messages");
}

// Deltas are the hot path (dozens per reply): only the first one of a stream changes the transcript's
// shape; the rest just lengthen its bubble, which the view does without walking the transcript.
/** @param {Frame} frame @param {Controller} ctrl */
export function onDelta(ctrl, frame) {
  if (!frame.message_id || typeof frame.text !== "string") return;
  const known = ctrl.streaming.get(frame.message_id);
  ctrl.streaming.set(frame.message_id, (known || "") + frame.text);
  ctrl.typing = false;
  if (known === undefined) ctrl.emit("messages");
  else ctrl.emit("delta", { id: frame.message_id, text: frame.text });
}

/** @param {Record<string, any>} summary @param {Controller} ctrl */
export function onState(ctrl, summary) {
  const previous = ctrl.session ? ctrl.session.status : null;
  mergeSession(ctrl, summary);
  const session = /** @type {SessionInfo} */ (ctrl.session);
  if (session.status !== previous) ctrl.resumeSentEpoch = -1;
  if (session.status === "active") flushOutbox(ctrl);
  if (session.status === "closed") ctrl.typing = false;
  ctrl.emit("session");
}

/** The newest learner message on screen (the one a failed turn answered). @param {Controller} ctrl */
export function lastLearnerMessage(ctrl) {
  let last = null;
  for (const message of ctrl.messages.values()) {
    if (message.role === "learner" && (!last || (message.seq || 0) > (last.seq || 0))) last = message;
  }
  return last;
}

/** The learner message a tutor message at `seq` answered. @param {number} seq @param {Controller} ctrl */
export function learnerBefore(ctrl, seq) {
  let found = null;
  for (const message of ctrl.messages.values()) {
    const at = message.seq || 0;
    if (message.role === "learner" && at < seq && (!found || at > (found.seq || 0))) found = message;
  }
  return found;
}

/** @param {Frame} frame @param {Controller} ctrl */
export function onErrorFrame(ctrl, frame) {
  const inTurn = ctrl.turnActive;
  ctrl.typing = false;
  ctrl.stopping = false;
  ctrl.streaming.clear(); // a failed turn's partial text is not a message
  const code = String(frame.code || "ERROR");
  /** @type {string|undefined} */
  let concern;
  if (frame.client_id) {
    const entry = ctrl.outbox.find((e) => e.client_id === frame.client_id);
    if (entry && PERMANENT_REFUSALS.has(code)) {
      ctrl.outbox = ctrl.outbox.filter((e) => e !== entry);
      saveOutbox(ctrl);
      ctrl.returnedText = entry.text;
    } else if (entry) {
      entry.failed = { code, message: frame.message };
      concern = `p:${entry.client_id}`;
      if (RETRY_SOON.has(code)) retrySoon(ctrl);
    } else {
      // The message is stored; its tutor turn failed: the error goes under it.
      const stored = Array.from(ctrl.messages.values()).find((m) => m.client_id === frame.client_id);
      if (stored) concern = `m:${stored.id}`;
    }
  } else if (inTurn || code.startsWith("TUTOR")) {
    // The tutor failed to answer: the error sits under the question it did not answer, with Retry.
    const learner = lastLearnerMessage(ctrl);
    if (learner) concern = `m:${learner.id}`;
  }
  if (code === "SESSION_NOT_FOUND" && !frame.client_id) {
    ctrl.closeChat();
    ctrl.setConnection("offline");
  }
  ctrl.error = { code, message: learnerErrorText(code, frame.message), concern };
  ctrl.emit("all");
}
