// @ts-check
// HTML sanitizing. The server sanitizes with nh3 from tutornb/htmlpolicy.py; the page applies THE SAME
// allowlist (the `sanitizer_policy` trait) as a second fence, never a wider one, with DOMPurify: it parses
// in an inert document, so scripts never run and images never load while it works, and it knows the
// parser tricks (mutation XSS, namespace confusion, DOM clobbering) a hand-written walker would miss.
// `purifyConfig` turns the policy into DOMPurify's settings; the per-tag rules DOMPurify has no setting
// for (attributes and classes per tag, URL schemes) are applied in its attribute hook. Without a policy
// only text is kept.
//
// Remote images are never fetched on their own (an image URL in a message is a way to report to its host
// that, and when, the message was read): each allowed <img> becomes a button naming the image's host, and
// the image is loaded only when the learner presses it (issue 20).

import DOMPurify from "dompurify";
import { el } from "./util.js";

/** @typedef {import("./types.js").SanitizerPolicy} SanitizerPolicy */

// Dropped together with everything inside them, whatever the policy says (it can only add to this).
export const DROPPED_TAGS = [
  "script",
  "style",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "template",
  "noscript",
  "link",
  "meta",
  "base",
  "form",
  "input",
  "button",
  "select",
  "option",
  "textarea",
  "svg",
  "math",
  "audio",
  "video",
  "source",
  "track",
  "canvas",
  "portal",
  "title",
  "head",
  "dialog",
];
const URL_ATTRS = new Set(["href", "src"]);

/**
 * Whether an href/src value may stay: its scheme is one the policy lists, or it is relative and the policy
 * allows relative URLs. Browsers ignore control characters and whitespace inside a scheme
 * ("java\tscript:"), so they are ignored here too.
 * @param {string} value @param {SanitizerPolicy} policy
 */
export function isAllowedUrl(value, policy) {
  const compact = Array.from(String(value))
    .filter((ch) => {
      const code = ch.charCodeAt(0);
      return code > 0x20 && (code < 0x7f || code > 0x9f);
    })
    .join("")
    .toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (!scheme) return !!policy.url_relative; // relative URL, fragment or protocol-relative
  return (policy.url_schemes || []).includes(scheme[1]);
}

/**
 * The class names of `value` that the policy allows on `tag`, space-separated ("" for none).
 * @param {string} tag @param {string} value @param {SanitizerPolicy} policy
 */
export function allowedClasses(tag, value, policy) {
  const rule = policy.classes?.[tag];
  if (!rule) return "";
  const pattern = Array.isArray(rule) ? null : new RegExp(rule.pattern);
  const test = (/** @type {string} */ c) => (pattern ? pattern.test(c) : /** @type {string[]} */ (rule).includes(c));
  return value
    .split(/\s+/)
    .filter((c) => c && test(c))
    .join(" ");
}

/**
 * DOMPurify's settings for `policy`: its tags, the union of its attributes (narrowed per tag by the
 * hook), the dropped tags with their content, no data-* or aria-* attributes, no custom elements.
 * @param {SanitizerPolicy|null} policy
 */
export function purifyConfig(policy) {
  const attributes = new Set(Object.values(policy?.attributes || {}).flat());
  return {
    ALLOWED_TAGS: [...(policy?.tags || [])],
    ALLOWED_ATTR: [...attributes].sort(),
    ADD_FORBID_CONTENTS: [...new Set([...DROPPED_TAGS, ...(policy?.dropped_tags || [])])].sort(),
    FORBID_TAGS: [...new Set([...DROPPED_TAGS, ...(policy?.dropped_tags || [])])].sort(),
    KEEP_CONTENT: true,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    SANITIZE_DOM: true,
    RETURN_DOM_FRAGMENT: true,
  };
}

/** @type {ReturnType<typeof DOMPurify>|null} */
let purifier = null;
/** @type {SanitizerPolicy} */
let active = {};

/** One DOMPurify for the page, its hooks reading the policy of the call under way (`active`). */
function getPurifier() {
  if (purifier) return purifier;
  purifier = DOMPurify(globalThis.window);
  purifier.addHook("uponSanitizeAttribute", (node, data) => {
    const tag = node.localName;
    const name = data.attrName;
    if (!(active.attributes?.[tag] || []).includes(name)) data.keepAttr = false;
    else if (URL_ATTRS.has(name) && !isAllowedUrl(data.attrValue, active)) data.keepAttr = false;
    else if (name === "class") {
      data.attrValue = allowedClasses(tag, data.attrValue, active);
      if (!data.attrValue) data.keepAttr = false;
    }
  });
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.localName === "a") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", active.link_rel || "noopener noreferrer nofollow");
    }
  });
  return purifier;
}

/** The host an image URL would be fetched from, as the placeholder names it. @param {string} src */
function imageHost(src) {
  try {
    return new URL(src).host || src;
  } catch {
    return src;
  }
}

/**
 * A button standing in for a remote image: pressing it loads the image (no referrer sent).
 * @param {string} src @param {string} alt @param {string} title
 */
function imagePlaceholder(src, alt, title) {
  const host = imageHost(src);
  const button = el("button", {
    type: "button",
    hook: "image",
    class: "tutornb-button tutornb-small tutornb-image",
    title: `Load the image from ${host} (${src})`,
    text: alt ? `Show image from ${host}: ${alt}` : `Show image from ${host}`,
  });
  button.addEventListener("click", (event) => {
    event.preventDefault();
    const image = el("img", { alt, title: title || undefined, referrerpolicy: "no-referrer" });
    image.src = src;
    button.replaceWith(image);
  });
  return button;
}

/**
 * Sanitized, live-document nodes for an HTML string (a DocumentFragment), allowing what `policy` allows;
 * remote images come as placeholders (see above).
 * @param {string} html @param {SanitizerPolicy|null} [policy]
 */
export function sanitizeHtml(html, policy = null) {
  const dompurify = getPurifier();
  active = policy || {};
  /** @type {unknown} */
  let result;
  try {
    result = dompurify.sanitize(String(html), purifyConfig(policy));
  } finally {
    active = {};
  }
  // A DOM DOMPurify cannot work in (it then hands back its input unchanged) gets the text only.
  if (!dompurify.isSupported || !(result instanceof globalThis.Node)) {
    const fallback = document.createDocumentFragment();
    fallback.append(new DOMParser().parseFromString(String(html), "text/html").body.textContent || "");
    return fallback;
  }
  const inert = /** @type {DocumentFragment} */ (result);
  // The fragment still belongs to DOMPurify's inert document: images are swapped for placeholders before
  // anything is adopted by the live one, where an <img> with a src would start loading at once.
  /** @type {Array<[Element, {src: string, alt: string, title: string}]>} */
  const images = [];
  for (const image of Array.from(inert.querySelectorAll("img"))) {
    const src = image.getAttribute("src");
    if (src)
      images.push([image, { src, alt: image.getAttribute("alt") || "", title: image.getAttribute("title") || "" }]);
    else image.replaceWith(image.getAttribute("alt") || ""); // no image to show: its words stay
  }
  images.forEach(([image, { alt }], index) => {
    const slot = inert.ownerDocument.createElement("tutornb-image");
    slot.setAttribute("data-index", String(index));
    // A button inside a link would be interactive content inside interactive content: it goes after it.
    const link = image.closest("a");
    if (link) {
      image.replaceWith(alt);
      link.after(slot);
    } else image.replaceWith(slot);
  });
  const live = /** @type {DocumentFragment} */ (document.importNode(inert, true));
  for (const slot of Array.from(live.querySelectorAll("tutornb-image"))) {
    const { src, alt, title } = images[Number(slot.getAttribute("data-index"))][1];
    slot.replaceWith(imagePlaceholder(src, alt, title));
  }
  return live;
}
