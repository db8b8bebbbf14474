import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Effect, Either, ParseResult, Schema } from "effect";
import { parseDocument } from "yaml";
import {
  defaultDecideConfig,
  evictionPolicyNames,
  formatPath,
  isPolicyName,
  keepAlivePolicyNames,
  type DecideConfig,
} from "@berth/core";
import { serverBindingPolicyNames } from "@berth/core/placement/server/registry";
import { decodeDockerBackendConfig } from "@berth/backends/docker/config";
import { decodeKubernetesBackendConfig } from "@berth/backends/kubernetes/config";
import type { BerthdConfigShape, ResolvedRepository, ResolvedToken } from "./config.js";
import { ConfigError, type ConfigProblem } from "./errors.js";
import type { Flags } from "./flags.js";
import { ConfigFile } from "./schema.js";

export interface LoadOptions {
  readonly flags?: Flags;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths (the working directory). */
  readonly cwd?: string;
  /** The configuration as an object instead of a file (tests). */
  readonly inline?: unknown;
}

const decode = Schema.decodeUnknownEither(ConfigFile, { errors: "all", onExcessProperty: "error" });

const problemsOf = (issue: ParseResult.ParseIssue): ConfigProblem[] =>
  ParseResult.ArrayFormatter.formatIssueSync(issue).map((p) => ({
    path: formatPath(p.path),
    message: p._tag === "Unexpected" ? `unknown key${p.message.includes("expected") ? ` (${p.message})` : ""}` : p.message,
  }));

const readYaml = (file: string): Either.Either<unknown, ConfigError> => {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return Either.left(new ConfigError({ source: file, problems: [{ path: "", message: `cannot read: ${(error as Error).message}` }] }));
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return Either.left(new ConfigError({ source: file, problems: doc.errors.map((e) => ({ path: "", message: e.message })) }));
  }
  return Either.right(doc.toJS() ?? {});
};

const setIn = (target: Record<string, unknown>, path: readonly string[], value: unknown): void => {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (node[key] = next !== null && typeof next === "object" ? { ...(next as object) } : {}) as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
};

/** Environment and flags write into the raw document before decoding, so their values get the same checks and key paths. */
const overlay = (raw: unknown, options: LoadOptions): Either.Either<Record<string, unknown>, ConfigError> => {
  if (raw !== null && (typeof raw !== "object" || Array.isArray(raw))) {
    return Either.left(new ConfigError({ source: "configuration", problems: [{ path: "", message: "expected a mapping of keys" }] }));
  }
  const doc: Record<string, unknown> = { ...((raw ?? {}) as Record<string, unknown>) };
  const env = options.env ?? {};
  const flags = options.flags ?? {};
  const sources: [readonly string[], string | undefined][] = [
    [["listen"], flags.listen ?? env.BERTH_LISTEN],
    [["http"], flags.http ?? env.BERTH_HTTP],
    [["stateDir"], flags.stateDir ?? env.BERTH_STATE_DIR],
    [["backend", "kind"], flags.backend ?? env.BERTH_BACKEND],
    [["store", "url"], env.BERTH_STORE_URL],
  ];
  for (const [path, value] of sources) if (value !== undefined && value !== "") setIn(doc, path, value);
  if (env.BERTH_STORE_URL) setIn(doc, ["store", "kind"], "postgres");
  return Either.right(doc);
};

const checkPolicies = (file: ConfigFile, problems: ConfigProblem[]): void => {
  const p = file.placement;
  if (!isPolicyName(p.policy)) problems.push({ path: "placement.policy", message: `unknown placement policy "${p.policy}"` });
  if (!serverBindingPolicyNames().includes(p.serverPolicy))
    problems.push({ path: "placement.serverPolicy", message: `unknown policy "${p.serverPolicy}" (one of ${serverBindingPolicyNames().join(", ")})` });
  if (!evictionPolicyNames.includes(p.evictionPolicy))
    problems.push({ path: "placement.evictionPolicy", message: `unknown policy "${p.evictionPolicy}" (one of ${evictionPolicyNames.join(", ")})` });
  if (!keepAlivePolicyNames.includes(p.keepAlivePolicy))
    problems.push({ path: "placement.keepAlivePolicy", message: `unknown policy "${p.keepAlivePolicy}" (one of ${keepAlivePolicyNames.join(", ")})` });
};

/** The image leases get when they name none: one the backend can run (see ImagesConfig). */
export const defaultImageFor = (kind: ConfigFile["backend"]["kind"]): string =>
  kind === "docker" || kind === "kubernetes" ? "localhost/berth:dev" : "berth-model-server";

/** The plugin backends' options are decoded here too, so their problems come with the rest, under their key path. */
const checkBackendOptions = (file: ConfigFile, problems: ConfigProblem[]): void => {
  const problemsOf = (input: unknown, decodeOptions: (input: unknown) => Either.Either<unknown, readonly string[]>) =>
    Either.match(decodeOptions(input), { onLeft: (messages) => messages, onRight: () => [] });
  for (const message of problemsOf(file.backend.docker, decodeDockerBackendConfig)) problems.push({ path: "backend.docker", message });
  for (const message of problemsOf(file.backend.kubernetes, decodeKubernetesBackendConfig)) problems.push({ path: "backend.kubernetes", message });
};

const resolveRepositories = (file: ConfigFile, stateDir: string, cwd: string, env: LoadOptions["env"], problems: ConfigProblem[]) => {
  const demoDir = join(stateDir, "repositories", "demo");
  if (file.repositories === undefined) return { repositories: [{ name: "demo", kind: "dir", dir: demoDir }] as ResolvedRepository[], demoDir };
  const repositories: ResolvedRepository[] = [];
  for (const [name, repo] of Object.entries(file.repositories)) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) problems.push({ path: `repositories[${JSON.stringify(name)}]`, message: "a repository name is a DNS-1123 label" });
    if ("dir" in repo) repositories.push({ name, kind: "dir", dir: resolve(cwd, repo.dir) });
    else {
      let authHeader = repo.authHeader;
      if (repo.authHeaderEnv !== undefined) {
        authHeader = env?.[repo.authHeaderEnv];
        if (authHeader === undefined) problems.push({ path: `repositories.${name}.authHeaderEnv`, message: `environment variable ${repo.authHeaderEnv} is not set` });
      }
      repositories.push({ name, kind: "http", url: repo.url, ...(authHeader !== undefined ? { authHeader } : {}) });
    }
  }
  if (repositories.length === 0) problems.push({ path: "repositories", message: "configure at least one repository" });
  return { repositories, demoDir: undefined };
};

const resolveTokens = (file: ConfigFile, env: LoadOptions["env"], problems: ConfigProblem[]): ResolvedToken[] =>
  file.auth.tokens.flatMap((t, i): ResolvedToken[] => {
    const path = `auth.tokens[${i}]`;
    if ((t.token === undefined) === (t.tokenEnv === undefined)) {
      problems.push({ path, message: "give exactly one of token and tokenEnv" });
      return [];
    }
    const token = t.token ?? env?.[t.tokenEnv!];
    if (token === undefined || token === "") {
      problems.push({ path: `${path}.tokenEnv`, message: `environment variable ${t.tokenEnv} is not set` });
      return [];
    }
    return [{ token, tenant: t.tenant, admin: t.admin }];
  });

const resolveSidecarSecret = (file: ConfigFile, env: LoadOptions["env"], problems: ConfigProblem[]): string | undefined => {
  const { sidecarSecret, sidecarSecretEnv } = file.auth;
  if (sidecarSecret !== undefined && sidecarSecretEnv !== undefined) {
    problems.push({ path: "auth.sidecarSecret", message: "give at most one of sidecarSecret and sidecarSecretEnv" });
    return undefined;
  }
  if (sidecarSecretEnv === undefined) return sidecarSecret;
  const value = env?.[sidecarSecretEnv];
  if (value === undefined || value.length < 16) {
    problems.push({ path: "auth.sidecarSecretEnv", message: value === undefined ? `environment variable ${sidecarSecretEnv} is not set` : `${sidecarSecretEnv} holds fewer than 16 characters` });
    return undefined;
  }
  return value;
};

/** The CA sidecars verify berthd with, read now so that a missing file is a start-up error with its key path. */
const resolveSidecarTls = (file: ConfigFile, cwd: string, problems: ConfigProblem[]): BerthdConfigShape["sidecarTls"] => {
  if (file.tls === undefined) return undefined;
  const [path, key] = file.tls.sidecarCa !== undefined ? [file.tls.sidecarCa, "tls.sidecarCa"] : [file.tls.cert, "tls.cert"];
  try {
    const ca = readFileSync(resolve(cwd, path), "utf8");
    return { ca, ...(file.tls.sidecarServerName !== undefined ? { serverName: file.tls.sidecarServerName } : {}) };
  } catch (error) {
    problems.push({ path: key, message: `cannot read the CA sidecars trust: ${(error as Error).message}` });
    return undefined;
  }
};

/**
 * Where SidecarService listens when its own listener is needed (see ConfigFile.sidecarListen):
 * sidecars without a token stay on the loopback; with tokens but mTLS they need a listener that
 * asks for no client certificate.
 */
const defaultSidecarListen = (file: ConfigFile, authEnabled: boolean, sidecarTokens: boolean): string | undefined => {
  if (file.sidecarListen !== undefined) return file.sidecarListen;
  if (!sidecarTokens) return file.tls !== undefined || authEnabled ? "127.0.0.1:0" : undefined;
  return file.tls?.clientCa !== undefined ? file.listen.replace(/:\d+$/, ":0") : undefined;
};

/** Reads, overlays and checks berthd's configuration; every problem comes back at once, each with its key path. */
export const loadConfig = (options: LoadOptions = {}): Effect.Effect<BerthdConfigShape, ConfigError> =>
  Effect.suspend(() => {
    const env = options.env ?? {};
    const cwd = options.cwd ?? process.cwd();
    const file = options.flags?.config ?? env.BERTH_CONFIG;
    const raw = options.inline !== undefined ? Either.right(options.inline) : file !== undefined ? readYaml(resolve(cwd, file)) : Either.right({});
    const source = file ?? "configuration";
    const doc = Either.flatMap(raw, (r) => overlay(r, options));
    if (Either.isLeft(doc)) return Effect.fail(doc.left);
    const decoded = decode(doc.right);
    if (Either.isLeft(decoded)) return Effect.fail(new ConfigError({ source, problems: problemsOf(decoded.left.issue) }));
    const config = decoded.right;
    const problems: ConfigProblem[] = [];
    checkPolicies(config, problems);
    checkBackendOptions(config, problems);
    const stateDir = resolve(cwd, config.stateDir);
    const { repositories, demoDir } = resolveRepositories(config, stateDir, cwd, env, problems);
    const defaultRepository = config.defaultRepository ?? repositories[0]?.name ?? "demo";
    if (!repositories.some((r) => r.name === defaultRepository))
      problems.push({ path: "defaultRepository", message: `no repository named "${defaultRepository}"` });
    const tokens = resolveTokens(config, env, problems);
    const sidecarSecret = resolveSidecarSecret(config, env, problems);
    const sidecarTls = sidecarSecret !== undefined ? resolveSidecarTls(config, cwd, problems) : undefined;
    if (config.store.kind === "postgres" && config.store.url === undefined) problems.push({ path: "store.url", message: "the postgres store needs a url" });
    const names = new Set<string>();
    for (const [i, node] of (config.nodes ?? []).entries()) {
      if (names.has(node.name)) problems.push({ path: `nodes[${i}].name`, message: `node "${node.name}" is listed twice` });
      names.add(node.name);
    }
    if (config.tls?.clientCa !== undefined && config.tls.cert === "") problems.push({ path: "tls.cert", message: "mTLS needs a server certificate" });
    if (problems.length > 0) return Effect.fail(new ConfigError({ source, problems }));
    const images = { ...config.images, default: config.images.default ?? defaultImageFor(config.backend.kind) };
    const decideConfig: DecideConfig = {
      ...defaultDecideConfig,
      placementPolicy: config.placement.policy,
      serverPolicy: config.placement.serverPolicy,
      evictionPolicy: config.placement.evictionPolicy,
      keepAlivePolicy: config.placement.keepAlivePolicy,
      keepWarm: config.placement.keepWarm,
      defaultImage: images.default,
      autoscaler: {
        ...defaultDecideConfig.autoscaler,
        syncPeriod: config.autoscaler.syncPeriod,
        ...(config.autoscaler.scaleUpStabilization !== undefined ? { scaleUpStabilization: config.autoscaler.scaleUpStabilization } : {}),
        ...(config.autoscaler.scaleDownStabilization !== undefined ? { scaleDownStabilization: config.autoscaler.scaleDownStabilization } : {}),
      },
    };
    const storePath = config.store.path === undefined ? join(stateDir, "berth.db") : isAbsolute(config.store.path) ? config.store.path : resolve(cwd, config.store.path);
    const resolved: BerthdConfigShape = {
      ...config,
      stateDir,
      store: { ...config.store, path: storePath },
      repositories,
      defaultRepository,
      images,
      initialAllowlist: [...new Set([images.default, ...images.allowlist])],
      auth: { enabled: tokens.length > 0, tokens, tenants: config.auth.tenants, ...(sidecarSecret !== undefined ? { sidecarSecret } : {}) },
      sidecarListen: defaultSidecarListen(config, tokens.length > 0, sidecarSecret !== undefined),
      ...(sidecarTls !== undefined ? { sidecarTls } : {}),
      secretEnv: [...config.auth.tokens.flatMap((t) => (t.tokenEnv !== undefined ? [t.tokenEnv] : [])), ...(config.auth.sidecarSecretEnv !== undefined ? [config.auth.sidecarSecretEnv] : [])],
      decide: decideConfig,
      ...(demoDir !== undefined ? { demoRepositoryDir: demoDir } : {}),
    };
    return Effect.succeed(resolved);
  });
