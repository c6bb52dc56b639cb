// @ts-check
// Markdown in the page: while a reply streams, its text so far is rendered with markdown-it, configured as
// the server's markdown-it-py (tutornb/render.py: CommonMark, raw HTML off, tables and strikethrough), so a
// streamed reply has the block layout of the stored one and the bubble does not jump when the stored
// message (the server's rendering, with highlighting) replaces it. The HTML goes through the page's
// sanitizer like the server's does.

import MarkdownIt from "markdown-it";
import { sanitizeHtml } from "./sanitizer.js";

/** @typedef {import("./types.js").SanitizerPolicy} SanitizerPolicy */

const markdown = new MarkdownIt("commonmark", { html: false }).enable(["table", "strikethrough"]);

/**
 * The streamed text with an emphasis or code marker that is still open at its end taken out ("**bo" is
 * shown as "bo" until its closing stars arrive), so half a reply never flashes raw markers.
 * @param {string} text
 */
export function hideOpenMarkers(text) {
  const lines = String(text).split("\n");
  const fences = lines.filter((line) => /^\s*(```|~~~)/.test(line)).length;
  if (fences % 2 === 1) return text; // inside an open code block: its text is shown as it is
  const start = String(text).lastIndexOf("\n\n") + 1;
  let tail = String(text).slice(start);
  // A backtick with no partner opens a code span still being written.
  const ticks = tail.split("`").length - 1;
  if (ticks % 2 === 1) tail = withoutMarkerAt(tail, tail.lastIndexOf("`"), 1);
  // Stars and underscores inside closed code spans are code (`**kwargs`), not emphasis.
  const code = Array.from(tail.matchAll(/`[^`]*`/g), (m) => [m.index || 0, (m.index || 0) + m[0].length]);
  const inCode = (/** @type {number} */ at) => code.some(([from, to]) => at >= from && at < to);
  for (const marker of ["**", "__"]) {
    const found = [];
    for (let at = tail.indexOf(marker); at >= 0; at = tail.indexOf(marker, at + marker.length)) {
      if (!inCode(at)) found.push(at);
    }
    if (found.length % 2 === 1) tail = withoutMarkerAt(tail, found[found.length - 1], marker.length);
  }
  return String(text).slice(0, start) + tail;
}

/** @param {string} text @param {number} at @param {number} length */
function withoutMarkerAt(text, at, length) {
  return text.slice(0, at) + text.slice(at + length);
}

/** The HTML markdown-it makes of `text` (raw HTML in the text is escaped, never passed). @param {string} text */
export function markdownToHtml(text) {
  return markdown.render(String(text));
}

/**
 * The streamed Markdown `text` as sanitized DOM nodes.
 * @param {string} text @param {SanitizerPolicy|null} policy
 * @returns {DocumentFragment}
 */
export function renderStreamingMarkdown(text, policy) {
  return sanitizeHtml(markdownToHtml(hideOpenMarkers(text)), policy);
}
