// @ts-check
// Outbox: learner messages not yet acknowledged, kept per session in localStorage so a reload or a dropped
// socket never loses them. They are re-sent with the same client_id, which the server stores only once.

/** @typedef {import("./controller.js").Controller} Controller */

/** @typedef {import("./types.js").Frame} Frame */

/** @typedef {import("./types.js").OutboxEntry} OutboxEntry */
/** @typedef {import("./types.js").LearnerWork} LearnerWork */

const OUTBOX_KEY = "tutornb:outbox:";
const RETRY_SOON_MS = 5000;

export const outboxStore = {
  /** @param {string} sessionId @returns {OutboxEntry[]} */
  load(sessionId) {
    try {
      const raw = globalThis.localStorage.getItem(OUTBOX_KEY + sessionId);
      const entries = raw ? JSON.parse(raw) : [];
      return Array.isArray(entries)
        ? entries
            .filter((e) => e && typeof e.client_id === "string" && typeof e.text === "string")
            .map((e) => ({ ...e, sentEpoch: -1, failed: null }))
        : [];
    } catch {
      return [];
    }
  },
  /** @param {string} sessionId @param {Array<{client_id: string, text: string, created_at: string, work?: LearnerWork|null}>} entries */
  save(sessionId, entries) {
    try {
      if (entries.length) {
        const plain = entries.map(({ client_id, text, created_at, work }) => ({ client_id, text, created_at, work }));
        globalThis.localStorage.setItem(OUTBOX_KEY + sessionId, JSON.stringify(plain));
      } else {
        globalThis.localStorage.removeItem(OUTBOX_KEY + sessionId);
      }
    } catch {
      // Storage disabled (sandboxed frames, node): the outbox still lives in memory for this page.
    }
  },
};

/** @param {Controller} ctrl */
export function saveOutbox(ctrl) {
  if (ctrl.session) outboxStore.save(ctrl.session.id, ctrl.outbox);
}

/** Entries the server has stored leave the outbox, in memory and in localStorage. @param {(clientId: string) => boolean} isStored @param {Controller} ctrl */
export function dropFromOutbox(ctrl, isStored) {
  const before = ctrl.outbox.length;
  ctrl.outbox = ctrl.outbox.filter((entry) => !isStored(entry.client_id));
  if (ctrl.outbox.length !== before) saveOutbox(ctrl);
}

/** @param {Controller} ctrl */
export function dropStoredFromOutbox(ctrl) {
  const stored = new Set();
  for (const message of ctrl.messages.values()) if (message.client_id) stored.add(message.client_id);
  dropFromOutbox(ctrl, (clientId) => stored.has(clientId));
}

/** @param {Controller} ctrl */
export function requestResume(ctrl) {
  if (ctrl.resumeSentEpoch === ctrl.epoch || !ctrl.chat) return;
  if (ctrl.chat.send({ type: "resume" })) ctrl.resumeSentEpoch = ctrl.epoch;
}

/** @param {Controller} ctrl */
export function flushOutbox(ctrl, force = false) {
  if (!ctrl.chat || !ctrl.session || ctrl.session.status !== "active") return;
  for (const entry of ctrl.outbox) {
    if (!force && entry.sentEpoch === ctrl.epoch) continue;
    /** @type {Frame} */
    const frame = { type: "message", client_id: entry.client_id, text: entry.text };
    if (entry.work) frame.work = entry.work;
    if (ctrl.chat.send(frame)) {
      entry.sentEpoch = ctrl.epoch;
      entry.failed = null;
      ctrl.typing = true;
    }
  }
  ctrl.emit("messages");
}

/**
 * Queue a learner message on the open session and send it as soon as the session can take it
 * (resuming a paused one first; a dropped socket is told to retry now).
 * @param {OutboxEntry} entry
 * @param {Controller} ctrl
 */
export function enqueue(ctrl, entry) {
  ctrl.wantActive = true;
  ctrl.outbox.push(entry);
  saveOutbox(ctrl);
  if (ctrl.session && ctrl.session.status === "paused") requestResume(ctrl);
  else flushOutbox(ctrl);
  if (ctrl.chat && !ctrl.chat.online) ctrl.chat.retryNow();
  ctrl.emit("messages");
  return true;
}

/** @param {Controller} ctrl */
export function retrySoon(ctrl) {
  if (ctrl.retryTimer) return;
  ctrl.retryTimer = setTimeout(() => {
    ctrl.retryTimer = null;
    if (!ctrl.disposed && ctrl.outbox.some((e) => e.failed)) flushOutbox(ctrl, true);
  }, RETRY_SOON_MS);
}

/** @param {Controller} ctrl */
export function retryOutbox(ctrl) {
  ctrl.clearError();
  if (ctrl.chat && !ctrl.chat.online) ctrl.chat.retryNow();
  if (ctrl.session && ctrl.session.status === "paused") requestResume(ctrl);
  flushOutbox(ctrl, true);
}
