// @ts-check
// The page <-> host contract (docs/architecture.md, "Page <-> host events"): for anything that needs
// JupyterLab itself (opening another notebook, inserting a cell through its API, finding the learner's
// last error) the page dispatches a DOM CustomEvent on its root element and a host that handles it calls
// `preventDefault()`. The page never uses JupyterLab's CommandLinker (it asks an untrusted notebook's
// learner to confirm every command).

export const NAVIGATE = "tutornb:navigate";
export const INSERT_CODE = "tutornb:insert-code";
export const ASK_ERROR = "tutornb:ask-error";

/**
 * Dispatches `name` with `detail` on `root`; true when a host handled it.
 * @param {EventTarget} root @param {string} name @param {Record<string, any>} detail
 */
export function askHost(root, name, detail) {
  const event = new CustomEvent(name, { detail, bubbles: true, composed: true, cancelable: true });
  root.dispatchEvent(event);
  return event.defaultPrevented;
}
