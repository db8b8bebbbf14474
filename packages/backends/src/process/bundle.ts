// Pre-built JavaScript for the model server and the sidecar: under tsx every start of a
// replica transpiled and resolved several hundred modules through loader hooks (seconds on a
// loaded machine); one esbuild bundle per program (workspace TypeScript and the packages it
// uses, native addons left to Node) loads in a few hundred ms. Bundles are a cache (under
// node_modules/.cache, ignored by git), keyed by the content of every file they were built
// from, the bundler's version and this file: a changed source gives a new bundle, an
// unchanged tree reuses the old one. BERTH_PROCESS_RUNTIME=tsx (runtime.ts) bypasses them.
//
// Safe when several processes build at once: bundle files are named by their content hash and
// written to a temporary name then renamed, the manifest naming the current one likewise, and
// a lock directory keeps concurrent builders from doing the same work twice.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

export type BundleName = "model-server" | "sidecar" | "berthd";

/** Entry points, relative to the repository root. */
export const BUNDLE_ENTRIES: Readonly<Record<BundleName, string>> = {
  "model-server": "apps/model-server/src/main.ts",
  sidecar: "apps/sidecar/src/main.ts",
  // berthd itself (bench:api runs it from here): no tsx in its memory, and the backends it
  // does not use stay unevaluated (their modules are reached through import()).
  berthd: "apps/control-plane/src/main.ts",
};

const MANIFEST_VERSION = 1;
/** A lock older than this (or whose pid is gone) was left by a builder that died: taken over. */
const STALE_LOCK_MS = 30_000;
/** Superseded bundles are removed once this old (a replica may be starting from one right now). */
const SUPERSEDED_TTL_MS = 10 * 60_000;

export interface BundleLocation {
  /** The repository root: entries and workspace sources are resolved from here. */
  readonly root: string;
  /** Where bundles, manifests and locks live. */
  readonly dir: string;
}

export const defaultBundleLocation = (root: string): BundleLocation => ({ root, dir: join(root, "node_modules/.cache/berth/bundles") });

interface InputRecord {
  readonly path: string;
  readonly mtimeMs: number;
  readonly size: number;
}

interface Manifest {
  readonly version: number;
  readonly key: string;
  readonly hash: string;
  readonly bundle: string;
  readonly builtAt: number;
  readonly inputs: readonly InputRecord[];
}

let builderFingerprint: string | undefined;
/**
 * This file and the bundler's version: a change to how bundles are made makes them stale.
 * Undefined without esbuild (an install without dev dependencies): no bundles then.
 */
function builder(): string | undefined {
  if (builderFingerprint === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const esbuildVersion = (JSON.parse(readFileSync(require.resolve("esbuild/package.json"), "utf8")) as { version: string }).version;
      const recipe = createHash("sha256").update(readFileSync(fileURLToPath(import.meta.url))).digest("hex").slice(0, 16);
      builderFingerprint = `esbuild ${esbuildVersion}; recipe ${recipe}`;
    } catch {
      return undefined;
    }
  }
  return builderFingerprint;
}

/** What else than sources changes the output: how it is built, where the tree is (its paths are baked in), Node's major. */
function buildKey(root: string): string | undefined {
  const how = builder();
  return how === undefined ? undefined : `${how}; root ${root}; node ${process.versions.node.split(".")[0]}`;
}

const manifestPath = (at: BundleLocation, name: BundleName): string => join(at.dir, `${name}.json`);
const lockPath = (at: BundleLocation, name: BundleName): string => join(at.dir, `${name}.lock`);

function readManifest(at: BundleLocation, name: BundleName): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(manifestPath(at, name), "utf8")) as Manifest;
    return m.version === MANIFEST_VERSION && Array.isArray(m.inputs) ? m : undefined;
  } catch {
    return undefined;
  }
}

const hashOf = (key: string, contents: ReadonlyMap<string, Buffer>): string => {
  const h = createHash("sha256").update(key).update("\0");
  for (const path of [...contents.keys()].sort()) h.update(path).update("\0").update(contents.get(path)!).update("\0");
  return h.digest("hex");
};

/** True when every input still has the content the bundle was built from (stat first, read only on doubt). */
function inputsUnchanged(at: BundleLocation, m: Manifest): boolean {
  let doubt = false;
  for (const input of m.inputs) {
    try {
      const s = statSync(join(at.root, input.path));
      if (s.mtimeMs !== input.mtimeMs || s.size !== input.size) doubt = true;
    } catch {
      return false;
    }
  }
  if (!doubt) return true;
  // Touched (a checkout, a formatter) but perhaps not changed: compare contents.
  try {
    return hashOf(m.key, new Map(m.inputs.map((i) => [i.path, readFileSync(join(at.root, i.path))]))) === m.hash;
  } catch {
    return false;
  }
}

/**
 * The path of an up-to-date bundle of `name`, or undefined (none built yet, or a source changed
 * since). Synchronous and cheap (one stat per input): called on every replica start.
 */
export function freshBundle(name: BundleName, at: BundleLocation): string | undefined {
  const m = readManifest(at, name);
  if (m === undefined || m.key !== buildKey(at.root)) return undefined;
  const bundle = join(at.dir, m.bundle);
  if (!existsSync(bundle)) return undefined;
  return inputsUnchanged(at, m) ? bundle : undefined;
}

/**
 * Packages Node loads as they are: native addons. Everything else is bundled: the workspace
 * packages (@berth/*) are TypeScript, and loading the rest module by module cost most of a
 * start (effect's index alone pulls in hundreds of modules: about 0.4 s; gRPC and protobufjs
 * another 0.1 s), of which the servers use a small part.
 */
const EXTERNAL_PACKAGES: readonly string[] = ["onnxruntime-node"];
/**
 * More packages left to Node, per bundle: native addons (better-sqlite3; ssh2 and cpu-features,
 * which dockerode's CommonJS require()s lazily, so they load only with the Docker backend).
 */
const BUNDLE_EXTERNALS: Readonly<Partial<Record<BundleName, readonly string[]>>> = { berthd: ["better-sqlite3", "ssh2", "cpu-features"] };
const isBundledPackage = (name: BundleName, specifier: string): boolean =>
  ![...EXTERNAL_PACKAGES, ...(BUNDLE_EXTERNALS[name] ?? [])].some((p) => specifier === p || specifier.startsWith(`${p}/`));

function writeAtomically(path: string, data: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

const loaderFor = (path: string): "ts" | "js" | "json" => {
  const ext = extname(path);
  return ext === ".json" ? "json" : ext === ".ts" || ext === ".mts" || ext === ".cts" ? "ts" : "js";
};

/** Builds the bundle of `name` now and records it in the manifest. Returns the bundle's path. */
async function build(name: BundleName, at: BundleLocation): Promise<string> {
  const esbuild = await import("esbuild");
  const key = buildKey(at.root);
  if (key === undefined) throw new Error("esbuild is not installed");
  const contents = new Map<string, Buffer>();
  const inputs: InputRecord[] = [];
  const result = await esbuild.build({
    absWorkingDir: at.root,
    entryPoints: [join(at.root, BUNDLE_ENTRIES[name])],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    logLevel: "silent",
    // The name in a stack trace says which program this is; a linked map is written beside it.
    sourcemap: "linked",
    // Bundled CommonJS may require() Node's modules (and, lazily, optional ones): give the
    // ESM output a require of its own.
    banner: { js: 'import { createRequire as __berthCreateRequire } from "node:module";\nconst require = __berthCreateRequire(import.meta.url);' },
    outfile: join(at.dir, `${name}.mjs`),
    plugins: [
      {
        name: "berth-workspace",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (isBundledPackage(name, args.path) ? undefined : { external: true }));
          b.onLoad({ filter: /.*/ }, (args) => {
            const before = statSync(args.path);
            const bytes = readFileSync(args.path);
            const path = relative(at.root, args.path);
            contents.set(path, bytes);
            inputs.push({ path, mtimeMs: before.mtimeMs, size: before.size });
            // Modules find files beside their source (proto directories): keep their own location.
            const source = bytes
              .toString("utf8")
              .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
              .replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path)))
              .replace(/\b__filename\b/g, JSON.stringify(args.path));
            return { contents: source, loader: loaderFor(args.path), resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  const hash = hashOf(key, contents);
  const base = `${name}-${hash.slice(0, 16)}`;
  const bundle = join(at.dir, `${base}.mjs`);
  for (const file of result.outputFiles) {
    const mapFile = file.path.endsWith(".map");
    // The outfile was a placeholder name: point the map comment at the hashed file.
    const text = mapFile ? file.text : file.text.replace(`//# sourceMappingURL=${name}.mjs.map`, `//# sourceMappingURL=${base}.mjs.map`);
    writeAtomically(mapFile ? `${bundle}.map` : bundle, text);
  }
  const previous = readManifest(at, name)?.bundle;
  const manifest: Manifest = { version: MANIFEST_VERSION, key, hash, bundle: `${base}.mjs`, builtAt: Date.now(), inputs };
  writeAtomically(manifestPath(at, name), `${JSON.stringify(manifest, null, 1)}\n`);
  removeSuperseded(name, at, [`${base}.mjs`, ...(previous !== undefined ? [previous] : [])]);
  return bundle;
}

/**
 * Removes old bundles of `name`, but never the current one nor the one it replaced (a backend
 * may have picked that one just before this build and be starting a replica from it).
 */
function removeSuperseded(name: BundleName, at: BundleLocation, keep: readonly string[]): void {
  const now = Date.now();
  for (const file of readdirSync(at.dir)) {
    // Temporary files of a writer that died before its rename go too.
    const leftover = file.startsWith(name) && file.endsWith(".tmp");
    if (!leftover && (!file.startsWith(`${name}-`) || keep.some((k) => file.startsWith(k)))) continue;
    const path = join(at.dir, file);
    try {
      if (now - statSync(path).mtimeMs > SUPERSEDED_TTL_MS) rmSync(path, { force: true });
    } catch {
      // Another builder removed it first.
    }
  }
}

/** The pid that holds a lock, when it wrote it yet. */
function lockOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(path, "pid"), "utf8"));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryLock(path: string): boolean {
  try {
    mkdirSync(path);
    writeFileSync(join(path, "pid"), String(process.pid));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    try {
      // A builder that died (a test worker torn down mid-build) leaves its lock behind.
      const owner = lockOwner(path);
      if ((owner !== undefined && !alive(owner)) || Date.now() - statSync(path).mtimeMs > STALE_LOCK_MS) {
        rmSync(path, { recursive: true, force: true });
        return tryLock(path);
      }
    } catch {
      // Released between our mkdir and stat: try again on the next round.
    }
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An up-to-date bundle of `name`: the existing one when its sources are unchanged, else a new
 * build. One builder at a time per bundle; the others wait for it and take its result.
 */
export async function ensureBundle(name: BundleName, at: BundleLocation, waitMs = STALE_LOCK_MS): Promise<string> {
  mkdirSync(at.dir, { recursive: true });
  const lock = lockPath(at, name);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const fresh = freshBundle(name, at);
    if (fresh !== undefined) return fresh;
    if (tryLock(lock)) {
      try {
        // Another builder may have finished between our check and the lock.
        return freshBundle(name, at) ?? (await build(name, at));
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
    // Waited long enough for a builder that is alive but slow: build without the lock (the
    // writes are atomic, so two builders at worst do the same work twice).
    if (Date.now() > deadline) return build(name, at);
    await sleep(50);
  }
}

const building = new Map<string, Promise<string | Error>>();

/**
 * Starts building `name` in the background unless a fresh bundle exists; at most one build
 * per bundle and process at a time. Never rejects: a failed build leaves tsx in use, and its
 * error is the promise's value, for whoever wants to know.
 */
export function prepareBundle(name: BundleName, at: BundleLocation): Promise<string | Error> {
  const id = `${at.dir}\0${name}`;
  const running = building.get(id);
  if (running !== undefined) return running;
  const started = ensureBundle(name, at)
    .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
    .finally(() => building.delete(id));
  building.set(id, started);
  return started;
}
