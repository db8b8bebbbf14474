// Standalone routing: the table from a JSON or YAML file, reloaded when the file changes.
// A bad edit keeps the last good table and says why on stderr.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { parse as parseYaml } from "yaml";
import { decodeRouteSet, RouteSetError, type RouteSet } from "./route-set.js";
import type { RouteTable } from "./route-table.js";

/** Reads and decodes a route file (YAML is a superset of JSON, so one parser reads both). */
export async function readRouteFile(path: string): Promise<RouteSet> {
  const text = await readFile(path, "utf8");
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new RouteSetError(`${path}: not JSON or YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return decodeRouteSet(value ?? {});
  } catch (e) {
    if (e instanceof RouteSetError) throw new RouteSetError(`${path}: ${e.message}`);
    throw e;
  }
}

export interface RouteFileWatch {
  close(): void;
}

/**
 * Loads `path` into `table`, then reloads on every change. Watches the directory, not the
 * file, because editors and `mv` replace the file (a new inode the old watch would miss).
 */
export async function watchRouteFile(
  path: string,
  table: RouteTable,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  debounceMs = 50,
): Promise<RouteFileWatch> {
  table.set(await readRouteFile(path));
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    readRouteFile(path).then(
      (routes) => {
        table.set(routes);
        log(`routes reloaded from ${path}: ${routes.leases.length} lease(s)`);
      },
      (e: unknown) => log(`routes not reloaded, keeping the previous table: ${e instanceof Error ? e.message : String(e)}`),
    );
  };
  const name = basename(path);
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (file !== null && file !== name) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
    },
  };
}
