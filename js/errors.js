// @ts-check
// Errors as the page sees them, and what of an error a learner may read.

export const SIGNED_OUT_MESSAGE =
  "You are signed out of Jupyter (the server restarted or your login expired). Reload the page to sign in again.";
const MODEL_ERROR_MESSAGE = "The tutor could not answer just now. Try again in a moment.";
// A host:port or URL in an error text is the model endpoint's address: learners never see it.
const ADDRESS = /(?:[a-z][a-z0-9+.-]*:\/\/)|(?:\b[\w.-]+:\d{2,5}\b)|(?:\b\d{1,3}(?:\.\d{1,3}){3}\b)/i;
// Errors about the connection itself: they go away as soon as the connection is back.
export const CONNECTION_ERRORS = new Set(["NETWORK_ERROR", "OFFLINE", "TIMEOUT"]);

/** @typedef {import("./types.js").PanelError} PanelError */

export class TutorError extends Error {
  /** @param {string|undefined} code @param {string} [message] @param {number} [status] the HTTP status, if any */
  constructor(code, message, status = 0) {
    super(message || code);
    this.code = code || "INTERNAL_ERROR";
    this.status = status;
  }
}

/** Jupyter refused the page's login (401/403): the learner must sign in again. @param {any} err */
export function isSignedOut(err) {
  return err instanceof TutorError && (err.status === 401 || err.status === 403);
}

/** @param {any} err @returns {PanelError} */
export function asError(err) {
  if (err instanceof TutorError) return { code: err.code, message: err.message };
  if (err && typeof err === "object" && "code" in err) {
    return { code: String(err.code), message: String(err.message || err.code) };
  }
  return { code: "NETWORK_ERROR", message: "The tutor could not be reached." };
}

/**
 * What a learner may read of an error: a text naming an address (the model endpoint's host:port, a URL)
 * is replaced by a plain one; the code stays for support.
 * @param {string|undefined} code @param {string|undefined} message
 */
export function learnerErrorText(code, message) {
  const text = String(message || "");
  if (!text || ADDRESS.test(text)) {
    return code?.startsWith("TUTOR") ? MODEL_ERROR_MESSAGE : text ? MODEL_ERROR_MESSAGE : String(code || "");
  }
  return text;
}
