/**
 * The chat context of a notebook panel: course and module from the notebook's `metadata.tutornb`
 * (the same fields tutornb/coursemeta.py reads on the server), the path relative to the server root.
 */

/** flat field -> [nested object, its key]: both layouts are in use (tutornb/coursemeta.py). */
const FIELDS = {
  course_id: ["course", "id"],
  course_title: ["course", "title"],
  module_id: ["module", "id"],
  module_title: ["module", "title"],
};

/** @param {unknown} value */
const text = (value) => (typeof value === "string" ? value.trim() : "");
/** @param {Record<string, unknown>} meta @param {string} outer @param {string} key */
function nested(meta, outer, key) {
  const inner = meta[outer];
  return inner && typeof inner === "object" ? text(/** @type {Record<string, unknown>} */ (inner)[key]) : "";
}

/**
 * @param {import('@jupyterlab/notebook').NotebookPanel} panel
 * @returns {{course_id: string, course_title: string, module_id: string, module_title: string, notebook_path: string}}
 */
export function notebookContext(panel) {
  const raw = panel.model?.getMetadata("tutornb");
  const meta = raw && typeof raw === "object" && !Array.isArray(raw) ? /** @type {Record<string, unknown>} */ (raw) : {};
  /** @type {Record<string, string>} */
  const context = {};
  for (const [field, [outer, key]] of Object.entries(FIELDS)) {
    context[field] = text(meta[field]) || nested(meta, outer, key);
  }
  context.notebook_path = panel.context.path;
  return /** @type {any} */ (context);
}
