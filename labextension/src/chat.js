// placeholder until the js/ modules land (archjs split)
export function createMount() {
  return (root) => {
    root.textContent = "chat";
    return { controller: null, view: null, destroy() { root.textContent = ""; } };
  };
}
export const chatActions = {
  setLastWork() {},
  async send() {},
  focusInput() {},
  newSession() {},
  openHistory() {},
};
