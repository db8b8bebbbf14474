// The file listing with SHA-256 of a model directory on disk: what a local source reports,
// what the HTTP layout's index.json carries, and what a pull checks its copy against.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ModelFileEntry } from "./model-source.js";

/** SHA-256 (lowercase hex) and size of one file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Every regular file under `modelDir` (dot-files skipped), sorted by path. */
export async function manifestOfDirectory(modelDir: string): Promise<ModelFileEntry[]> {
  const out: ModelFileEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
      if (e.isDirectory()) await walk(join(dir, e.name), rel);
      else if (e.isFile()) out.push({ path: rel, ...(await hashFile(join(dir, e.name))) });
    }
  };
  await walk(modelDir, "");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
