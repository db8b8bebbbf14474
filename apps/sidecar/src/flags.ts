// Command-line flags of berth-sidecar. `--flag value` and `--flag=value` are both accepted;
// the berthd address may also come from BERTH_SIDECAR_BERTHD. Credentials come from the
// environment only (a command line is visible to every user of the machine).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseRepositorySpec, type RepositorySpec } from "@berth/repository/sources/open-source";

export interface SidecarOptions {
  /** berthd's gRPC address, "host:port". */
  readonly berthd: string;
  /** The server's KServe v2 HTTP address, "host:port" (or a full http:// URL). */
  readonly serverHttp: string;
  readonly serverId: string;
  readonly replicaId: string;
  /** Where pulls land: {cache}/{repository}/{model}. */
  readonly cache: string;
  /** The directory the server loads models from (its --model-repository); the sidecar links pulled models there. */
  readonly serverRepository: string;
  /** In order; the first is the default for model references without a repository. */
  readonly repositories: readonly RepositorySpec[];
  /** How often the server's readiness and loaded models are checked. */
  readonly pollIntervalMs: number;
  /** How often activity (statistics deltas) is reported. */
  readonly activityIntervalMs: number;
  /** How the sidecar proves itself to berthd and checks berthd (absent: plaintext, no token). */
  readonly credentials?: SidecarCredentials;
}

export interface SidecarCredentials {
  /** Sent as `authorization: Bearer <token>` (BERTH_SIDECAR_TOKEN). */
  readonly token?: string;
  /** PEM of the CA berthd's certificate chains to: present, the stream to berthd is TLS. */
  readonly berthdCa?: string;
  /** The name expected in berthd's certificate, when the dialled address is not in it. */
  readonly berthdServerName?: string;
}

export const USAGE = `usage: berth-sidecar --berthd HOST:PORT --server-http HOST:PORT --server-id ID --cache DIR --repository NAME=LOCATION [options]
  --berthd HOST:PORT          berthd's gRPC address (or BERTH_SIDECAR_BERTHD)
  --server-http HOST:PORT     the inference server's KServe v2 HTTP endpoint
  --server-id ID              the server this sidecar serves, as berthd names it
  --replica-id ID             this replica of it (default: the server id)
  --cache DIR                 model cache: pulls land in DIR/<repository>/<model>
  --server-repository DIR     the server's --model-repository (default: DIR/.server of the cache);
                              pulled models are linked there before they are loaded
  --repository NAME=LOCATION  a model repository: a directory, an http(s):// URL or s3://BUCKET/PREFIX
                              (repeatable; the first is the default). An HTTP(S) repository's auth
                              header comes from BERTH_REPOSITORY_AUTH_<NAME> ("Authorization: Bearer …");
                              S3 uses AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  --poll-interval-ms N        server readiness and loaded-model check (default 2000)
  --activity-interval-ms N    activity report period (default 10000)
  --berthd-ca FILE            dial berthd over TLS, trusting this CA (PEM); or BERTH_SIDECAR_BERTHD_CA (a file)
                              or BERTH_SIDECAR_BERTHD_CA_PEM (the PEM itself)
  --berthd-server-name NAME   the name in berthd's certificate, when the address dialled is not in it
                              (or BERTH_SIDECAR_BERTHD_SERVER_NAME)
environment:
  BERTH_SIDECAR_TOKEN         the bearer token berthd minted for this server (never a flag)`;

export class FlagError extends Error {}

const VALUED = new Set([
  "berthd", "server-http", "server-id", "replica-id", "cache", "server-repository", "repository", "poll-interval-ms", "activity-interval-ms",
  "berthd-ca", "berthd-server-name",
]);

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value);

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new FlagError(`--berthd-ca: cannot read ${file}: ${(e as Error).message}`);
  }
}

function credentialsOf(values: ReadonlyMap<string, string>, env: Readonly<Record<string, string | undefined>>): SidecarCredentials {
  const caFile = nonEmpty(values.get("berthd-ca")) ?? nonEmpty(env.BERTH_SIDECAR_BERTHD_CA);
  const berthdCa = caFile !== undefined ? readCa(caFile) : nonEmpty(env.BERTH_SIDECAR_BERTHD_CA_PEM);
  const token = nonEmpty(env.BERTH_SIDECAR_TOKEN);
  const berthdServerName = nonEmpty(values.get("berthd-server-name")) ?? nonEmpty(env.BERTH_SIDECAR_BERTHD_SERVER_NAME);
  return {
    ...(token !== undefined ? { token } : {}),
    ...(berthdCa !== undefined ? { berthdCa } : {}),
    ...(berthdServerName !== undefined ? { berthdServerName } : {}),
  };
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new FlagError(`--${flag} must be a positive integer, got '${value}'`);
  return n;
}

export function parseFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): SidecarOptions {
  const values = new Map<string, string>();
  const repositories: RepositorySpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new FlagError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!VALUED.has(flag)) throw new FlagError(`unknown flag --${flag}`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new FlagError(`--${flag} needs a value`);
      value = argv[++i];
    }
    if (flag === "repository") {
      try {
        repositories.push(parseRepositorySpec(value));
      } catch (e) {
        throw new FlagError((e as Error).message);
      }
    } else values.set(flag, value);
  }
  const required = (flag: string, fallback?: string): string => {
    const v = values.get(flag) ?? fallback;
    if (v === undefined || v === "") throw new FlagError(`--${flag} is required`);
    return v;
  };
  const berthd = required("berthd", env.BERTH_SIDECAR_BERTHD);
  const serverId = required("server-id");
  const cache = resolve(required("cache"));
  if (repositories.length === 0) throw new FlagError("at least one --repository NAME=DIR|URL is required");
  const names = repositories.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new FlagError(`repository '${dup}' is given twice`);
  return {
    berthd,
    serverHttp: required("server-http"),
    serverId,
    replicaId: values.get("replica-id") ?? serverId,
    cache,
    serverRepository: resolve(values.get("server-repository") ?? join(cache, ".server")),
    repositories,
    pollIntervalMs: values.has("poll-interval-ms") ? positiveInt("poll-interval-ms", values.get("poll-interval-ms")!) : 2000,
    activityIntervalMs: values.has("activity-interval-ms") ? positiveInt("activity-interval-ms", values.get("activity-interval-ms")!) : 10_000,
    credentials: credentialsOf(values, env),
  };
}
