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
  for (const marker of ["**", "__", "`"]) {
    const count = tail.split(marker).length - 1;
    if (count % 2 === 1) {
      const at = tail.lastIndexOf(marker);
      tail = tail.slice(0, at) + tail.slice(at + marker.length);
    }
  }
  return String(text).slice(0, start) + tail;
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
