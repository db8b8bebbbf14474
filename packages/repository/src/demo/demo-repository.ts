// Writes the `demo` repository in Triton's layout (<dir>/<model>/config.pbtxt and
// <dir>/<model>/1/model.onnx), for laptops, CI and tests: the project makes its own models.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatModelConfig } from "../config-pbtxt.js";
import { demoModels } from "./demo-models.js";

/** The name operators and tests use for the generated repository. */
export const DEMO_REPOSITORY_NAME = "demo";

export interface WriteDemoRepositoryOptions {
  /** Only these models (default: all of them). */
  readonly models?: readonly string[];
}

/** Writes the demo models into `dir` (created if missing); returns the model names written. */
export async function writeDemoRepository(dir: string, options: WriteDemoRepositoryOptions = {}): Promise<string[]> {
  const all = demoModels();
  const names = options.models ?? [...all.keys()];
  for (const name of names) {
    const model = all.get(name);
    if (model === undefined) throw new Error(`no demo model named '${name}' (have: ${[...all.keys()].join(", ")})`);
    const versionDir = join(dir, name, "1");
    await mkdir(versionDir, { recursive: true });
    await writeFile(join(dir, name, "config.pbtxt"), formatModelConfig(model.config));
    await writeFile(join(versionDir, model.config.defaultModelFilename), model.onnx);
  }
  return [...names];
}
