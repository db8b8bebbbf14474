// The models this server knows: what the repository holds, what is loaded, and in which state.
// Loading reads config.pbtxt, opens one ONNX Runtime session per selected version and checks
// the config against the model; unloading waits for running requests before releasing the
// sessions. Load and unload of one model are serialised; different models proceed in parallel.
import { listLocalModels, readLocalModel, RepositoryError, type LocalModel } from "@berth/repository/local-directory";
import { modelGroup, type ModelConfig } from "@berth/repository/config-pbtxt";
import { invalidArgument, notFound, unsupported } from "./errors.js";
import { OnnxRuntimeError, openOnnxSession, type OnnxSession, type OnnxSessionOptions } from "./onnx-session.js";
import { ExecutionSlots } from "./slots.js";
import { InferenceStatistics, type MemoryUsageEntry } from "./statistics.js";

export type ModelControlMode = "explicit" | "none";

/** Triton's model states as the repository index reports them. */
export type ModelState = "READY" | "LOADING" | "UNLOADING" | "UNAVAILABLE";

export interface LoadedVersion {
  readonly model: string;
  readonly version: number;
  readonly config: ModelConfig;
  readonly session: OnnxSession;
  readonly slots: ExecutionSlots;
  readonly stats: InferenceStatistics;
  /** Memory this version holds, as this server can measure it (see SessionMemory). */
  readonly memory: { readonly fileBytes: number; readonly rssDeltaBytes: number };
  /** Marks a request as running on this version until the returned function is called. */
  enter(): () => void;
}

interface ModelEntry {
  state: ModelState;
  reason: string;
  config?: ModelConfig;
  /** Loaded versions, newest first. */
  versions: LoadedVersion[];
  /** Versions the last load attempt concerned (for the index when not loaded). */
  lastVersions: number[];
}

export interface ModelIndexEntry {
  readonly name: string;
  readonly version?: string;
  readonly state?: ModelState;
  readonly reason?: string;
}

const SUPPORTED_GROUP = "onnxruntime";

class VersionHandle implements LoadedVersion {
  private running = 0;
  private drained: (() => void) | undefined;
  readonly stats: InferenceStatistics;
  readonly slots: ExecutionSlots;

  constructor(
    readonly model: string,
    readonly version: number,
    readonly config: ModelConfig,
    readonly session: OnnxSession,
  ) {
    const instances = config.instanceGroup.reduce((n, g) => n + Math.max(1, g.count), 0);
    this.slots = new ExecutionSlots(Math.max(1, instances));
    this.stats = new InferenceStatistics(model, String(version), () => this.memoryUsage());
  }

  get memory() {
    return this.session.memory;
  }

  /** Triton's memory_usage entries: CPU memory measured around session creation. */
  private memoryUsage(): MemoryUsageEntry[] {
    return [{ type: "CPU", id: 0, byte_size: Math.max(this.session.memory.rssDeltaBytes, this.session.memory.fileBytes) }];
  }

  enter(): () => void {
    this.running += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.running -= 1;
      if (this.running === 0) this.drained?.();
    };
  }

  /** Resolves once no request runs on this version. */
  async drain(): Promise<void> {
    if (this.running === 0) return;
    await new Promise<void>((resolve) => (this.drained = resolve));
  }
}

export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly repositoryDir: string,
    readonly controlMode: ModelControlMode,
    private readonly sessionOptions: OnnxSessionOptions = {},
  ) {}

  private serialise<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(() => undefined, () => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return next;
  }

  private entry(name: string): ModelEntry {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = { state: "UNAVAILABLE", reason: "", versions: [], lastVersions: [] };
      this.entries.set(name, e);
    }
    return e;
  }

  /** Every model in the repository. */
  repositoryModels(): Promise<string[]> {
    return listLocalModels(this.repositoryDir);
  }

  /** Loads (or reloads) a model; rejects with ONNX Runtime's message when a version fails. */
  load(name: string): Promise<void> {
    return this.serialise(name, async () => {
      let local: LocalModel;
      try {
        local = await readLocalModel(this.repositoryDir, name);
      } catch (e) {
        if (e instanceof RepositoryError && e.reason === "ModelNotFound") {
          throw notFound(`failed to load '${name}', failed to poll from model repository`);
        }
        const message = e instanceof Error ? e.message : String(e);
        const entry = this.entry(name);
        if (entry.versions.length === 0) {
          entry.state = "UNAVAILABLE";
          entry.reason = message;
        }
        throw invalidArgument(`failed to load '${name}': ${message}`);
      }
      const entry = this.entry(name);
      const group = modelGroup(local.config);
      if (group !== SUPPORTED_GROUP) {
        entry.state = "UNAVAILABLE";
        entry.reason = `unsupported backend '${group}'`;
        throw unsupported(`failed to load '${name}': this server runs ONNX models only; '${name}' needs backend '${group}'`);
      }
      const previous = entry.versions;
      entry.state = previous.length > 0 ? "READY" : "LOADING";
      entry.lastVersions = local.versions.map((v) => v.version);
      const opened: VersionHandle[] = [];
      try {
        for (const v of local.versions) {
          let session: OnnxSession;
          try {
            session = await openOnnxSession(v.modelFile, this.sessionOptions);
          } catch (e) {
            const reason = e instanceof OnnxRuntimeError ? e.message : String(e);
            throw invalidArgument(`load failed for model '${name}': version ${v.version} is at UNAVAILABLE state: ${reason}`);
          }
          opened.push(new VersionHandle(name, v.version, local.config, session));
          checkConfigAgainstModel(local.config, session, v.version);
        }
      } catch (e) {
        await Promise.all(opened.map((h) => h.session.release()));
        if (previous.length === 0) {
          entry.state = "UNAVAILABLE";
          entry.reason = e instanceof Error ? e.message : String(e);
        }
        throw e;
      }
      entry.config = local.config;
      entry.versions = opened;
      entry.state = "READY";
      entry.reason = "";
      await releaseAll(previous);
    });
  }

  /** Unloads a model; unloading a model that is not loaded succeeds, as in Triton. */
  unload(name: string): Promise<void> {
    return this.serialise(name, async () => {
      const entry = this.entries.get(name);
      if (entry === undefined || entry.versions.length === 0) {
        const models = await this.repositoryModels().catch(() => [] as string[]);
        if (!models.includes(name) && entry === undefined) throw notFound(`failed to unload '${name}': model is not found`);
        if (entry !== undefined && entry.state !== "UNAVAILABLE") {
          entry.state = "UNAVAILABLE";
          entry.reason = "unloaded";
        }
        return;
      }
      const versions = entry.versions;
      entry.state = "UNLOADING";
      entry.versions = [];
      await releaseAll(versions);
      entry.state = "UNAVAILABLE";
      entry.reason = "unloaded";
    });
  }

  /** The loaded version to serve a request; the newest when no version is named. */
  get(name: string, version?: string): LoadedVersion {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.versions.length === 0 || entry.state !== "READY") {
      throw notFound(
        entry === undefined
          ? `Request for unknown model: '${name}' is not found`
          : `Request for unknown model: '${name}' has no available versions`,
      );
    }
    if (version === undefined || version === "") return entry.versions[0];
    const found = entry.versions.find((v) => String(v.version) === version);
    if (found === undefined) throw notFound(`Request for unknown model: '${name}' version ${version} is not found`);
    return found;
  }

  /** True when the model (at that version, if named) can serve requests. */
  isReady(name: string, version?: string): boolean {
    try {
      this.get(name, version);
      return true;
    } catch {
      return false;
    }
  }

  /** The loaded versions of every model, for statistics and metrics. */
  loaded(): LoadedVersion[] {
    return [...this.entries.values()].flatMap((e) => (e.state === "READY" ? e.versions : []));
  }

  /**
   * Triton's repository index: every model in the repository, with version, state and reason
   * for those this server has tried to load. `readyOnly` keeps the ready ones.
   */
  async index(readyOnly: boolean): Promise<ModelIndexEntry[]> {
    const names = new Set(await this.repositoryModels());
    for (const name of this.entries.keys()) names.add(name);
    const out: ModelIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const entry = this.entries.get(name);
      if (entry === undefined) {
        if (!readyOnly) out.push({ name });
        continue;
      }
      if (entry.versions.length > 0) {
        for (const v of entry.versions) out.push({ name, version: String(v.version), state: entry.state, reason: entry.reason });
      } else if (!readyOnly) {
        const versions = entry.lastVersions.length > 0 ? entry.lastVersions : [undefined];
        for (const v of versions) {
          out.push({ name, ...(v === undefined ? {} : { version: String(v) }), state: entry.state, reason: entry.reason });
        }
      }
    }
    return readyOnly ? out.filter((e) => e.state === "READY") : out;
  }

  /** Unloads everything (server shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((name) => this.unload(name).catch(() => undefined)));
  }
}

async function releaseAll(versions: readonly LoadedVersion[]): Promise<void> {
  for (const v of versions) {
    await (v as VersionHandle).drain();
    await v.session.release();
  }
}

/** Triton's ONNX backend refuses configs that name tensors the model lacks. */
function checkConfigAgainstModel(config: ModelConfig, session: OnnxSession, version: number): void {
  for (const [kind, declared, actual] of [
    ["input", config.input, session.inputNames],
    ["output", config.output, session.outputNames],
  ] as const) {
    for (const t of declared) {
      if (!actual.includes(t.name)) {
        throw invalidArgument(
          `load failed for model '${config.name}': version ${version} is at UNAVAILABLE state: ` +
            `unexpected ${kind} '${t.name}' in model configuration; the model has ${kind}s ${actual.join(", ")}`,
        );
      }
    }
  }
}
