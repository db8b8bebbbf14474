import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The real traces live beside the repository (../shared/data), never inside it.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The shared data folder: $BERTH_DATA_DIR, or ../shared/data next to the repository. */
export const sharedDataDir = (): string => process.env.BERTH_DATA_DIR ?? resolve(repoRoot, "../shared/data");

export const sharedDataPath = (relative: string): string => resolve(sharedDataDir(), relative);

export const hasSharedData = (relative: string): boolean => existsSync(sharedDataPath(relative));

/** A small CSV reader for the traces: no quoted fields occur in them. */
export const readCsv = (relative: string): { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[] } => {
  const path = sharedDataPath(relative);
  if (!existsSync(path)) throw new Error(`trace file ${path} not found (set BERTH_DATA_DIR, or put the shared data beside the repository)`);
  const lines = readFileSync(path, "utf8").split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0].split(",");
  return { header, rows: lines.slice(1).map((l) => l.split(",")) };
};

export const column = (csv: ReturnType<typeof readCsv>, name: string): number => {
  const i = csv.header.indexOf(name);
  if (i < 0) throw new Error(`column ${name} not in ${csv.header.join(",")}`);
  return i;
};
