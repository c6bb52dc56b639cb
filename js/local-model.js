// @ts-check
// A widget-model stand-in for hosts without a kernel widget (the JupyterLab sidebar): the same
// get/set/on/off surface the controller reads from anywidget's model, kept in memory. `set` fires
// `change:<name>` like a synced trait does; `send` goes nowhere (there is no kernel comm).

/** @typedef {import("./types.js").WidgetModel} WidgetModel */

/**
 * @param {Record<string, any>} values the traits: context, notebook_path, sanitizer_policy, session_id, ...
 * @returns {WidgetModel}
 */
export function localModel(values) {
  const state = { ...values };
  /** @type {Map<string, Set<(...args: any[]) => void>>} */
  const listeners = new Map();
  return {
    get: (name) => state[name],
    set(name, value) {
      if (state[name] === value) return;
      state[name] = value;
      for (const listener of Array.from(listeners.get(`change:${name}`) || [])) listener();
    },
    save_changes() {},
    on(event, listener) {
      const set = listeners.get(event) || new Set();
      set.add(listener);
      listeners.set(event, set);
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener);
    },
    send() {},
  };
}
