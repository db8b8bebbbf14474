// The one place that talks to @kubernetes/client-node. Every call becomes an Effect failing with
// KubeApiError (HTTP status and Kubernetes reason as data); retryable failures (409 conflicts,
// 429, 5xx, network errors) are retried on a named schedule. Objects cross this edge as plain
// JSON records; the callers decode the few fields they read.
import { ApiException, AutoscalingApi, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch } from "@kubernetes/client-node";
import { Data, Duration, Effect, Schedule, Stream } from "effect";

export type KubeObject = { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown> } & Record<string, unknown>;

export class KubeApiError extends Data.TaggedError("KubeApiError")<{ readonly operation: string; readonly status: number; readonly reason: string; readonly message: string }> {}

/** 409 (conflict, or AlreadyExists in a race), 429, 5xx, and status 0 (no HTTP answer). */
export const isRetryable = (e: KubeApiError): boolean => e.status === 0 || e.status === 409 || e.status === 429 || e.status >= 500;

/** The retry policy of API calls: exponential from `baseMs`, at most `times` retries, retryable errors only. */
export const kubeRetrySchedule = (baseMs: number, times: number) =>
  Schedule.exponential(Duration.millis(baseMs), 2).pipe(Schedule.intersect(Schedule.recurs(times)), Schedule.whileInput(isRetryable));

function toApiError(operation: string, e: unknown): KubeApiError {
  if (e instanceof ApiException) {
    const body = typeof e.body === "string" ? safeJson(e.body) : (e.body as Record<string, unknown> | undefined);
    const reason = typeof body?.reason === "string" ? body.reason : "";
    const message = typeof body?.message === "string" ? body.message : String(e.body ?? e.message).slice(0, 500);
    return new KubeApiError({ operation, status: e.code, reason, message });
  }
  return new KubeApiError({ operation, status: 0, reason: "NoAnswer", message: e instanceof Error ? e.message : String(e) });
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const plain = (o: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;

export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  readonly object: Record<string, unknown>;
}

export interface KubeClientOptions {
  readonly kubeconfig?: string;
  readonly fieldManager: string;
  readonly retryBaseMs: number;
  readonly retryTimes: number;
}

export interface KubeClient {
  /** Server-side apply with the field manager; `force` (default true) takes fields other managers own. */
  readonly apply: (object: KubeObject, options?: { readonly dryRun?: boolean; readonly force?: boolean }) => Effect.Effect<Record<string, unknown>, KubeApiError>;
  readonly create: (object: KubeObject) => Effect.Effect<Record<string, unknown>, KubeApiError>;
  /** Replace with optimistic concurrency (metadata.resourceVersion): a stale version is a 409, not retried. */
  readonly replace: (object: KubeObject) => Effect.Effect<Record<string, unknown>, KubeApiError>;
  readonly get: (apiVersion: string, kind: string, namespace: string, name: string) => Effect.Effect<Record<string, unknown> | undefined, KubeApiError>;
  /** Deletes; an absent object succeeds. */
  readonly remove: (apiVersion: string, kind: string, namespace: string, name: string, propagation?: "Foreground" | "Background" | "Orphan") => Effect.Effect<void, KubeApiError>;
  readonly list: (apiVersion: string, kind: string, namespace: string, labelSelector?: string) => Effect.Effect<{ readonly items: readonly Record<string, unknown>[]; readonly resourceVersion: string }, KubeApiError>;
  /** Merge patch of metadata.labels (a null value removes the label). */
  readonly patchLabels: (apiVersion: string, kind: string, namespace: string, name: string, labels: Record<string, string | null>) => Effect.Effect<void, KubeApiError>;
  /** One watch from `resourceVersion` until the server ends it; ERROR events fail the stream with their status. */
  readonly watchOnce: (path: string, labelSelector: string, resourceVersion: string, timeoutSeconds: number) => Stream.Stream<WatchEvent, KubeApiError>;
  /** Versions the server serves for an API group (discovery). */
  readonly groupVersions: (group: "autoscaling") => Effect.Effect<readonly string[], KubeApiError>;
}

export function makeKubeClient(options: KubeClientOptions): KubeClient {
  const kc = new KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const watcher = new Watch(kc);
  const schedule = kubeRetrySchedule(options.retryBaseMs, options.retryTimes);
  const call = <A>(operation: string, f: () => Promise<A>, retry = true): Effect.Effect<A, KubeApiError> => {
    const once = Effect.tryPromise({ try: f, catch: (e) => toApiError(operation, e) });
    return retry ? Effect.retry(once, schedule) : once;
  };
  const header = (apiVersion: string, kind: string, namespace: string, name: string) => ({ apiVersion, kind, metadata: { name, namespace } });

  return {
    apply: (object, how = {}) =>
      call(
        `apply ${object.kind}/${object.metadata.name}`,
        () => objects.patch(object, undefined, how.dryRun === true ? "All" : undefined, options.fieldManager, how.force ?? true, PatchStrategy.ServerSideApply),
        // An unforced apply's 409 is an answer (a field conflict), not a race to retry.
        how.force ?? true,
      ).pipe(Effect.map(plain)),
    create: (object) => call(`create ${object.kind}/${object.metadata.name}`, () => objects.create(object, undefined, undefined, options.fieldManager), false).pipe(Effect.map(plain)),
    replace: (object) => call(`replace ${object.kind}/${object.metadata.name}`, () => objects.replace(object, undefined, undefined, options.fieldManager), false).pipe(Effect.map(plain)),
    get: (apiVersion, kind, namespace, name) =>
      call(`get ${kind}/${name}`, () => objects.read(header(apiVersion, kind, namespace, name))).pipe(
        Effect.map((o): Record<string, unknown> | undefined => plain(o)),
        Effect.catchIf(
          (e) => e.status === 404,
          () => Effect.succeed(undefined),
        ),
      ),
    remove: (apiVersion, kind, namespace, name, propagation = "Background") =>
      call(`delete ${kind}/${name}`, () => objects.delete(header(apiVersion, kind, namespace, name), undefined, undefined, undefined, undefined, propagation)).pipe(
        Effect.asVoid,
        Effect.catchIf(
          (e) => e.status === 404,
          () => Effect.void,
        ),
      ),
    list: (apiVersion, kind, namespace, labelSelector) =>
      call(`list ${kind}`, () => objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector)).pipe(
        Effect.map((l) => ({ items: l.items.map(plain), resourceVersion: l.metadata?.resourceVersion ?? "" })),
      ),
    patchLabels: (apiVersion, kind, namespace, name, labels) =>
      call(`label ${kind}/${name}`, () =>
        objects.patch({ ...header(apiVersion, kind, namespace, name), metadata: { name, namespace, labels } } as never, undefined, undefined, options.fieldManager, undefined, PatchStrategy.MergePatch),
      ).pipe(Effect.asVoid),
    watchOnce: (path, labelSelector, resourceVersion, timeoutSeconds) =>
      Stream.async<WatchEvent, KubeApiError>((emit) => {
        let controller: AbortController | undefined;
        let ended = false;
        watcher
          .watch(
            path,
            { labelSelector, resourceVersion, timeoutSeconds, allowWatchBookmarks: true },
            (type, object) => {
              if (type === "ERROR") {
                const status = plain(object);
                void emit.fail(new KubeApiError({ operation: `watch ${path}`, status: Number(status.code ?? 0), reason: String(status.reason ?? ""), message: String(status.message ?? "") }));
                return;
              }
              void emit.single({ type: type as WatchEvent["type"], object: plain(object) });
            },
            (err: unknown) => {
              ended = true;
              if (err === null || err === undefined || (err instanceof Error && err.name === "AbortError")) void emit.end();
              else void emit.fail(toApiError(`watch ${path}`, err));
            },
          )
          .then(
            (c) => {
              controller = c;
              if (ended) c.abort();
            },
            (e: unknown) => void emit.fail(toApiError(`watch ${path}`, e)),
          );
        return Effect.sync(() => {
          ended = true;
          controller?.abort();
        });
        // Unbounded: the watch callback cannot wait, and events must keep their order.
      }, "unbounded"),
    groupVersions: (group) =>
      call(`discover ${group}`, () => kc.makeApiClient(AutoscalingApi).getAPIGroup()).pipe(Effect.map((g) => g.versions.map((v) => v.version))),
  };
}
