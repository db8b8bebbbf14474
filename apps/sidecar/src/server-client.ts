// The inference server as the sidecar sees it, over HTTP: readiness, Triton's repository
// extension (index, load, unload) and statistics extension. Triton and berth-model-server
// answer these the same way. The one place that knows the server's JSON shapes.
import { Data } from "effect";

export class ServerError extends Data.TaggedError("ServerError")<{
  /** Unreachable: no answer (restarting, down); Rejected: the server answered with an error. */
  readonly reason: "Unreachable" | "Rejected";
  readonly status?: number;
  readonly message: string;
}> {}

/** One model version's statistics, the fields the sidecar reads. */
export interface VersionStats {
  readonly name: string;
  readonly version: string;
  readonly inferenceCount: number;
  readonly executionCount: number;
  /** Milliseconds since the epoch; 0 = never. */
  readonly lastInferenceMs: number;
  /** Summed memory_usage byte_size; undefined when the server does not report memory. */
  readonly memoryBytes: number | undefined;
}

interface StatsJson {
  model_stats?: {
    name: string;
    version: string;
    inference_count?: number | string;
    execution_count?: number | string;
    last_inference?: number | string;
    memory_usage?: { byte_size?: number | string }[];
  }[];
}

const REQUEST_TIMEOUT_MS = 5000;
// Loading a large model takes long; the server answers when it is done.
const LOAD_TIMEOUT_MS = 10 * 60_000;

export interface ServerClient {
  readonly baseUrl: string;
  /** GET /v2/health/ready: true when 200. Never rejects. */
  ready(): Promise<{ readonly ready: boolean; readonly message: string }>;
  /** Names of the models the server reports READY (POST /v2/repository/index {"ready": true}). */
  readyModels(): Promise<string[]>;
  load(model: string): Promise<void>;
  unload(model: string): Promise<void>;
  /** Every loaded model version's statistics, or one model's. */
  stats(model?: string): Promise<VersionStats[]>;
}

export function serverBaseUrl(address: string): string {
  return (/^https?:\/\//.test(address) ? address : `http://${address}`).replace(/\/+$/, "");
}

export function createServerClient(address: string): ServerClient {
  const baseUrl = serverBaseUrl(address);
  const request = async (method: "GET" | "POST", path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ServerError({ reason: "Unreachable", message: `${method} ${baseUrl}${path}: ${cause?.code ?? cause?.message ?? (e as Error).message}` });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new ServerError({ reason: "Rejected", status: res.status, message: message === "" ? `HTTP ${res.status}` : message });
  };
  const num = (v: number | string | undefined): number => (v === undefined ? 0 : Number(v));
  const modelPath = (model: string) => encodeURIComponent(model);

  return {
    baseUrl,
    async ready() {
      try {
        await request("GET", "/v2/health/ready");
        return { ready: true, message: "" };
      } catch (e) {
        return { ready: false, message: (e as ServerError).message };
      }
    },
    async readyModels() {
      const res = await request("POST", "/v2/repository/index", { ready: true });
      const entries = (await res.json()) as { name: string; state?: string }[];
      return [...new Set(entries.filter((e) => e.state === "READY").map((e) => e.name))];
    },
    async load(model) {
      await (await request("POST", `/v2/repository/models/${modelPath(model)}/load`, {}, LOAD_TIMEOUT_MS)).arrayBuffer();
    },
    async unload(model) {
      await (await request("POST", `/v2/repository/models/${modelPath(model)}/unload`, {}, LOAD_TIMEOUT_MS)).arrayBuffer();
    },
    async stats(model) {
      const res = await request("GET", model === undefined ? "/v2/models/stats" : `/v2/models/${modelPath(model)}/stats`);
      const json = (await res.json()) as StatsJson;
      return (json.model_stats ?? []).map((s) => ({
        name: s.name,
        version: s.version,
        inferenceCount: num(s.inference_count),
        executionCount: num(s.execution_count),
        lastInferenceMs: num(s.last_inference),
        memoryBytes: s.memory_usage === undefined || s.memory_usage.length === 0 ? undefined : s.memory_usage.reduce((n, m) => n + num(m.byte_size), 0),
      }));
    },
  };
}
