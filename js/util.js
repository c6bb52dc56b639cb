// @ts-check
// Small helpers with no state: ids, DOM building, times and short texts.

export const HOOK = "data-tutornb";
export const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** @returns {string} */
export function uuid() {
  const crypto = globalThis.crypto;
  if (crypto && typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  // Insecure contexts (plain http on a remote host) have no randomUUID; getRandomValues still exists.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A DOM element from props (`hook` → data-tutornb, `text`, `class`, `onX` listeners, other attributes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {any} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "hook") node.setAttribute(HOOK, value);
    else if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of /** @type {any[]} */ ([]).concat(children)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/**
 * @param {string|undefined} iso
 * @param {number} [now]
 */
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(String(iso));
  if (Number.isNaN(then)) return "";
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 45) return "just now";
  const minutes = seconds / 60;
  if (minutes < 90) return `${Math.max(1, Math.round(minutes))} min ago`;
  const hours = minutes / 60;
  if (hours < 36) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** @param {string|undefined} iso */
export function clockTime(iso) {
  const then = new Date(String(iso));
  if (Number.isNaN(then.getTime())) return "";
  return then.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** @param {string|undefined} path */
export function basename(path) {
  const parts = String(path || "").split("/");
  return parts[parts.length - 1] || String(path || "");
}

/** Markdown as a one-line preview: the markers go, the words stay. @param {string|undefined} markdown */
export function plainText(markdown) {
  return String(markdown || "")
    .replace(/```[a-z]*\n?/gi, " ")
    .replace(/[*_`]+/g, "")
    .replace(/^#+\s*/gm, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** @param {number} n @param {string} word */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A session title that tells sessions apart: the learner's first question, on one line. @param {string} text */
export function titleFrom(text) {
  const line = plainText(text).slice(0, 200);
  return line.length > 80 ? `${line.slice(0, 79).trimEnd()}…` : line;
}

/** @param {Record<string, any>} context */
export function courseContext(context) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const key of ["course_id", "course_title", "module_id", "module_title", "notebook_path"]) {
    if (context && typeof context[key] === "string" && context[key]) out[key] = context[key];
  }
  return out;
}

/** Offers `blob` to the learner as a download named `filename`. @param {Blob} blob @param {string} filename */
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const anchor = el("a", { href: url, download: filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
