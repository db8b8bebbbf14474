// The Kubernetes backend. A server is a record (ConfigMap with the spec) owning one Deployment
// per replica index (pods: the server container and, with sidecar settings, the sidecar,
// sharing the model volume). Everything is applied server-side with the field manager
// `berth`; watches on records, Deployments and pods keep a cache from which observations are
// computed, and a reconciler puts back what someone else deleted. The cluster is the state, so
// a new instance adopts what runs; deleting the record lets the garbage collector remove the
// rest (owner references).
import { Effect, Either, Layer, Queue, type Scope, SubscriptionRef } from "effect";
import { Backend, type BackendCapabilities, type BackendShape } from "../backend.js";
import { backendError, type BackendError, type BackendErrorReason } from "../errors.js";
import { type ObservedServer, watchFromStates } from "../observation.js";
import { retryingStart } from "../retrying-start.js";
import { LABEL_MANAGED_BY, LABEL_SERVER_ID, replicaId, type ServerSpec, validateServerSpec } from "../spec.js";
import { decodeKubernetesBackendConfig, type KubernetesBackendConfig, type KubernetesBackendOptions } from "./config.js";
import { follow, type InformerCounters, type InformerSpec, listInto } from "./informer.js";
import { type KubeClient, makeKubeClient } from "./kube-client.js";
import {
  deploymentName,
  type HostPorts,
  KUBERNETES_MANAGED_BY,
  type OwnerRef,
  recordName,
  replicaDeployment,
  serverLabels,
  serverRecord,
  sidecarSecret,
  sidecarSecretName,
  withSidecarToken,
} from "./objects.js";
import { decodeDeployment, decodePod, decodeRecord, observeServer, type ReplicaDeployment, type ReplicaPod, type ServerRecord } from "./observe.js";
import { KUBERNETES_BACKEND_NAME, unavailable } from "./backend-name.js";
import { kubernetesLeaseRouting, leaseRoutingOf } from "./lease-routing.js";
import { allocatePortBlock } from "./ports.js";
import { layerFromConfig } from "../plugin-config.js";

export { KUBERNETES_BACKEND_NAME, unavailable } from "./backend-name.js";

/** What the backend holds of the cluster, kept current by the watches. */
export interface KubernetesCache {
  readonly records: Map<string, ServerRecord>;
  readonly deployments: Map<string, ReplicaDeployment>;
  readonly pods: Map<string, ReplicaPod>;
}

/** The backend plus what only Kubernetes has (lease Services and autoscalers use these). */
export interface KubernetesBackendHandle {
  readonly backend: BackendShape;
  readonly client: KubeClient;
  readonly config: KubernetesBackendConfig;
  readonly cache: KubernetesCache;
  /** The server record as an owner reference (lease Services and HPAs hang from it). */
  readonly ownerOf: (serverId: string) => Effect.Effect<OwnerRef, BackendError>;
  readonly counters: { readonly records: InformerCounters; readonly deployments: InformerCounters; readonly pods: InformerCounters; reconciled: number };
}

const KUBERNETES_CAPABILITIES: BackendCapabilities = { gpus: true, images: "oci", adoption: true, nodes: "many" };

interface Desired {
  readonly spec: ServerSpec;
  readonly uid: string;
}

export const makeKubernetesBackendWith = (config: KubernetesBackendConfig, client: KubeClient): Effect.Effect<KubernetesBackendHandle, BackendError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: BackendErrorReason) => Effect.fail(backendError(KUBERNETES_BACKEND_NAME, reason));
    const ns = config.namespace;
    const selector = `${LABEL_MANAGED_BY}=${KUBERNETES_MANAGED_BY}`;
    const cache: KubernetesCache = { records: new Map(), deployments: new Map(), pods: new Map() };
    const desired = new Map<string, Desired>();
    const replaced = new Map<string, number>();
    /** Ports handed out but maybe not in the cache yet. */
    const assigned = new Map<string, HostPorts>();
    const observed = yield* SubscriptionRef.make<ReadonlyMap<string, ObservedServer>>(new Map());
    const lock = yield* Effect.makeSemaphore(1);
    const wake = yield* Queue.sliding<void>(1);
    const counters = {
      records: { resumes: 0, lists: 0 },
      deployments: { resumes: 0, lists: 0 },
      pods: { resumes: 0, lists: 0 },
      reconciled: 0,
    };
    const settings = { network: config.network, failAfterRestarts: config.failAfterRestarts, ...(config.endpointHost !== undefined ? { endpointHost: config.endpointHost } : {}) };

    const render = (): ReadonlyMap<string, ObservedServer> => {
      const records = new Map<string, ServerRecord>();
      for (const r of cache.records.values()) records.set(r.spec.serverId, r);
      for (const [id, d] of desired) records.set(id, { name: recordName(id), uid: d.uid, deleting: false, spec: d.spec });
      const deployments = [...cache.deployments.values()];
      const pods = [...cache.pods.values()];
      const out = new Map<string, ObservedServer>();
      for (const [id, record] of [...records].sort(([a], [b]) => a.localeCompare(b))) {
        out.set(
          id,
          observeServer(
            record,
            deployments.filter((d) => d.serverId === id),
            pods.filter((p) => p.serverId === id),
            (rid) => replaced.get(rid) ?? 0,
            settings,
            serverLabels(record.spec, config),
          ),
        );
      }
      return out;
    };
    const publish = Effect.suspend(() => SubscriptionRef.set(observed, render()));

    // ---- applying ------------------------------------------------------------------------------
    const usedPorts = (): Set<number> => {
      const used = new Set<number>();
      const add = (p: HostPorts) => [p.http, p.grpc, p.metrics].forEach((n) => used.add(n));
      for (const d of cache.deployments.values()) if (d.hostPorts !== undefined) add(d.hostPorts);
      for (const p of assigned.values()) add(p);
      return used;
    };
    const portsFor = (name: string): Effect.Effect<HostPorts | undefined, BackendError> => {
      if (config.network !== "host") return Effect.succeed(undefined);
      const known = assigned.get(name) ?? [...cache.deployments.values()].find((d) => d.name === name)?.hostPorts;
      if (known !== undefined) return Effect.succeed(known);
      const block = allocatePortBlock(config.hostPorts, usedPorts());
      if (block === undefined) return fail({ _tag: "Unavailable", message: `no free host ports left in ${config.hostPorts.first}-${config.hostPorts.last}` });
      assigned.set(name, block);
      return Effect.succeed(block);
    };

    const owner = (serverId: string, uid: string): OwnerRef => ({ apiVersion: "v1", kind: "ConfigMap", name: recordName(serverId), uid });

    /** Apply the sidecars' Secret and the replica Deployments wanted, delete the surplus. Holds the lock. */
    const converge = (d: Desired) =>
      Effect.gen(function* () {
        const { spec } = d;
        // Before the Deployments: a pod whose Secret is missing does not start (CreateContainerConfigError).
        // Owned by the record, it goes with the server; without credentials there is none to apply.
        const secret = sidecarSecret(spec, config, owner(spec.serverId, d.uid));
        if (secret !== undefined) yield* client.apply(secret).pipe(Effect.mapError(unavailable));
        for (let index = 0; index < spec.replicas; index++) {
          const name = deploymentName(spec.serverId, index);
          const ports = yield* portsFor(name);
          yield* client.apply(replicaDeployment(spec, index, config, owner(spec.serverId, d.uid), ports)).pipe(Effect.mapError(unavailable));
        }
        const surplus = [...cache.deployments.values()].filter((x) => x.serverId === spec.serverId && x.index >= spec.replicas && !x.deleting);
        for (const x of surplus) {
          yield* client.remove("apps/v1", "Deployment", ns, x.name, "Foreground").pipe(Effect.mapError(unavailable));
          assigned.delete(x.name);
        }
      });

    /** A spec read from a record lacks the sidecar's token (serverRecord): its Secret has it. */
    const withStoredToken = (spec: ServerSpec): Effect.Effect<ServerSpec, BackendError> =>
      spec.sidecar === undefined
        ? Effect.succeed(spec)
        : client.get("v1", "Secret", ns, sidecarSecretName(spec.serverId)).pipe(
            Effect.mapError(unavailable),
            Effect.map((secret) => withSidecarToken(spec, secret)),
          );

    const applyRecord = (spec: ServerSpec) =>
      client.apply(serverRecord(spec, config)).pipe(
        Effect.mapError(unavailable),
        Effect.map((o): Desired => ({ spec, uid: String((o.metadata as Record<string, unknown>).uid) })),
      );

    // ---- adoption: the cluster is the state ------------------------------------------------------
    const informer = <A>(kind: string, apiVersion: string, path: string, decode: (o: unknown) => A | undefined): InformerSpec<A> => ({
      apiVersion,
      kind,
      path,
      namespace: ns,
      labelSelector: selector,
      decode,
      timeoutSeconds: config.watchTimeoutSeconds,
      retryMs: config.retryBaseMs * 10,
    });
    const recordsSpec = informer("ConfigMap", "v1", `/api/v1/namespaces/${ns}/configmaps`, decodeRecord);
    const deploymentsSpec = informer("Deployment", "apps/v1", `/apis/apps/v1/namespaces/${ns}/deployments`, decodeDeployment);
    const podsSpec = informer("Pod", "v1", `/api/v1/namespaces/${ns}/pods`, decodePod);
    const recordsVersion = yield* listInto(client, recordsSpec, cache.records).pipe(Effect.mapError(unavailable));
    const deploymentsVersion = yield* listInto(client, deploymentsSpec, cache.deployments).pipe(Effect.mapError(unavailable));
    const podsVersion = yield* listInto(client, podsSpec, cache.pods).pipe(Effect.mapError(unavailable));
    for (const r of cache.records.values()) if (!r.deleting) desired.set(r.spec.serverId, { spec: yield* withStoredToken(r.spec), uid: r.uid });

    const wanted = (serverId: string, index: number): boolean => {
      const d = desired.get(serverId);
      return d !== undefined && index < d.spec.replicas;
    };

    yield* Effect.forkScoped(
      follow(client, recordsSpec, cache.records, recordsVersion, (change) =>
        Effect.suspend(() => {
          // A record deleted from outside: the server is gone (the garbage collector takes the rest).
          if (change.type === "DELETED" && change.previous !== undefined) {
            const id = change.previous.spec.serverId;
            if (desired.get(id)?.uid === change.previous.uid) desired.delete(id);
          }
          return publish;
        }),
      counters.records),
    );
    yield* Effect.forkScoped(
      follow(client, deploymentsSpec, cache.deployments, deploymentsVersion, (change) =>
        Effect.zipRight(publish, change.type === "DELETED" || change.name === "" ? Queue.offer(wake, undefined) : Effect.void),
      counters.deployments),
    );
    yield* Effect.forkScoped(
      follow(client, podsSpec, cache.pods, podsVersion, (change) =>
        Effect.suspend(() => {
          const gone = change.previous;
          // A pod of a replica that should exist went away: the Deployment replaces it, and that counts as a restart.
          if (change.type === "DELETED" && gone !== undefined && wanted(gone.serverId, gone.index)) {
            const rid = replicaId(gone.serverId, gone.index);
            replaced.set(rid, (replaced.get(rid) ?? 0) + 1);
          }
          return publish;
        }),
      counters.pods),
    );

    // The reconciler: a replica Deployment deleted by someone else (or lost in a race) comes back.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Queue.take(wake);
          yield* lock.withPermits(1)(
            Effect.gen(function* () {
              for (const d of desired.values()) {
                const have = new Set([...cache.deployments.values()].filter((x) => x.serverId === d.spec.serverId && !x.deleting).map((x) => x.index));
                let missing = false;
                for (let i = 0; i < d.spec.replicas; i++) if (!have.has(i)) missing = true;
                if (missing) {
                  counters.reconciled++;
                  yield* converge(d).pipe(Effect.ignore);
                }
              }
            }),
          );
        }),
      ),
    );
    yield* publish;

    if (config.onClose === "delete") {
      yield* Effect.addFinalizer(() =>
        Effect.forEach([...desired.keys()], (id) => client.remove("v1", "ConfigMap", ns, recordName(id), "Foreground").pipe(Effect.ignore), { discard: true }),
      );
    }

    const backend: BackendShape = {
      name: KUBERNETES_BACKEND_NAME,
      capabilities: KUBERNETES_CAPABILITIES,
      ensureServer: (input) =>
        Effect.gen(function* () {
          const decoded = validateServerSpec(input);
          if (Either.isLeft(decoded)) return yield* fail({ _tag: "InvalidSpec", problems: decoded.left });
          const spec = decoded.right;
          return yield* lock.withPermits(1)(
            Effect.gen(function* () {
              const d = yield* applyRecord(spec);
              desired.set(spec.serverId, d);
              yield* converge(d);
              yield* publish;
              return render().get(spec.serverId)!;
            }),
          );
        }),
      scale: (serverId, replicas, placements) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            const recorded = desired.get(serverId)?.spec ?? decodeRecord(yield* client.get("v1", "ConfigMap", ns, recordName(serverId)).pipe(Effect.mapError(unavailable)))?.spec;
            if (recorded === undefined) return yield* fail({ _tag: "NotFound", serverId });
            const current = desired.has(serverId) ? recorded : yield* withStoredToken(recorded);
            const decoded = validateServerSpec({ ...current, replicas, ...(placements !== undefined ? { placements } : {}) });
            if (Either.isLeft(decoded)) return yield* fail({ _tag: "InvalidSpec", problems: decoded.left });
            const d = yield* applyRecord(decoded.right);
            desired.set(serverId, d);
            yield* converge(d);
            yield* publish;
            return render().get(serverId)!;
          }),
        ),
      deleteServer: (serverId) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            desired.delete(serverId);
            // Foreground: the record stays (and the server observed) until its pods are gone.
            yield* client.remove("v1", "ConfigMap", ns, recordName(serverId), "Foreground").pipe(Effect.mapError(unavailable));
            for (const name of [...assigned.keys()]) if (name.startsWith(`${serverId}-`)) assigned.delete(name);
            yield* publish;
          }),
        ),
      list: () => SubscriptionRef.get(observed).pipe(Effect.map((m) => [...m.values()])),
      watch: () => watchFromStates(observed.changes),
    };

    const ownerOf = (serverId: string): Effect.Effect<OwnerRef, BackendError> =>
      Effect.gen(function* () {
        const d = desired.get(serverId);
        if (d !== undefined) return owner(serverId, d.uid);
        const record = decodeRecord(yield* client.get("v1", "ConfigMap", ns, recordName(serverId)).pipe(Effect.mapError(unavailable)));
        if (record === undefined) return yield* fail({ _tag: "NotFound", serverId });
        return owner(serverId, record.uid);
      });

    // A Service per lease and the pod labels that put replicas in it (lease-routing.ts).
    const withRouting: BackendShape = { ...backend, leaseRouting: leaseRoutingOf(kubernetesLeaseRouting({ client, config, ownerOf }), config) };
    return { backend: withRouting, client, config, cache, ownerOf, counters };
  });

export const makeKubernetesBackend = (config: KubernetesBackendConfig): Effect.Effect<KubernetesBackendHandle, BackendError, Scope.Scope> =>
  Effect.suspend(() => {
    const client = Effect.try({
      try: () => makeKubeClient({ ...(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {}), fieldManager: config.fieldManager, retryBaseMs: config.retryBaseMs, retryTimes: config.retryTimes }),
      catch: (e) => backendError(KUBERNETES_BACKEND_NAME, { _tag: "InvalidConfig", problems: [`kubeconfig: ${e instanceof Error ? e.message : String(e)}`] }),
    });
    return Effect.flatMap(client, (c) => makeKubernetesBackendWith(config, c));
  });

/**
 * The Kubernetes backend as a layer. Closing it leaves the servers to Kubernetes (onClose "leave").
 * A cluster that does not answer at start is logged and waited for in the background: calls are
 * Unavailable until it answers, then the backend adopts what runs (retrying-start.ts).
 */
export const layerKubernetes = (config: KubernetesBackendConfig): Layer.Layer<Backend, BackendError> =>
  Layer.scoped(
    Backend,
    retryingStart(
      Effect.map(makeKubernetesBackend(config), (h) => h.backend),
      { name: KUBERNETES_BACKEND_NAME, capabilities: KUBERNETES_CAPABILITIES, leaseRouting: true, autoscalerDefaultMode: config.autoscaling },
    ),
  );

/** Plugin entry: decodes the configuration (InvalidConfig lists every problem). */
export const kubernetesBackendLayerFromConfig: (input: unknown) => Layer.Layer<Backend, BackendError> = layerFromConfig(KUBERNETES_BACKEND_NAME, decodeKubernetesBackendConfig, layerKubernetes);

export const layerKubernetesWith = (options: KubernetesBackendOptions): Layer.Layer<Backend, BackendError> => kubernetesBackendLayerFromConfig(options);

export const kubernetesBackendPlugin = { name: KUBERNETES_BACKEND_NAME, layer: kubernetesBackendLayerFromConfig } as const;

/** Selector of everything a server owns (its pods included). */
export const serverSelector = (serverId: string): string => `${LABEL_SERVER_ID}=${serverId}`;
