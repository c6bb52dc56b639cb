// Runs a line of Python in the project's environment and returns what it printed, parsed as JSON: the node
// tests compare the page's modules with the server's own data and renderer (one allowlist, one Markdown
// behaviour) instead of copies of them. CI runs node's tests inside the virtual environment; elsewhere
// TUTORNB_PYTHON or .venv/bin/python names the interpreter.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function interpreter() {
  if (process.env.TUTORNB_PYTHON) return process.env.TUTORNB_PYTHON;
  const venv = join(ROOT, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python";
}

/** @param {string} code Python that prints one JSON document @param {string} [input] its stdin */
export function fromPython(code, input = "") {
  const out = execFileSync(interpreter(), ["-c", code], { cwd: ROOT, input, encoding: "utf8" });
  return JSON.parse(out);
}

/** THE sanitizer allowlist, tutornb.htmlpolicy.SANITIZER_POLICY. */
export function serverPolicy() {
  return fromPython(
    "import json; from tutornb.htmlpolicy import SANITIZER_POLICY; print(json.dumps(SANITIZER_POLICY))",
  );
}
