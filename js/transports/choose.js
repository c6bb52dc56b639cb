// @ts-check
// Which transport a widget panel uses: the REST transport where the server extension answers, else the comm.

import { CommPipe } from "./comm.js";
import { RestPipe } from "./rest.js";

/** @typedef {import("../types.js").Pipe} Pipe */
/** @typedef {import("../types.js").WidgetModel} WidgetModel */

/** @param {WidgetModel} model @returns {Promise<Pipe>} */
export async function choosePipe(model) {
  const wanted = model.get("transport") || "auto";
  if (wanted !== "comm") {
    const rest = await RestPipe.probe();
    if (rest) return rest;
  }
  return new CommPipe(model);
}
