// Plugin loading: backends by name. berthd's configuration names one (`backend: process`) and
// hands it its own configuration object, which the plugin decodes.
// Docker's and Kubernetes' plugins are loaded with `import()` when configured: their clients
// (the Kubernetes one is ~15 MB of source) would otherwise sit in every berthd's memory.
import { Effect, Layer } from "effect";
import type { Backend } from "./backend.js";
import { backendError, type BackendError } from "./errors.js";
import { PROCESS_BACKEND_NAME, processBackendLayerFromConfig } from "./process/process-backend.js";

export interface BackendPlugin {
  readonly name: string;
  /** Decodes `config` (InvalidConfig when it is wrong) and builds the backend. */
  readonly layer: (config: unknown) => Layer.Layer<Backend, BackendError>;
}

export type BackendRegistry = ReadonlyMap<string, BackendPlugin>;

export const processBackendPlugin: BackendPlugin = { name: PROCESS_BACKEND_NAME, layer: processBackendLayerFromConfig };

/**
 * A plugin whose module is imported the first time its layer is built. `name` must be the
 * plugin's own name (test/registry-lazy.test.ts checks the built-in ones).
 */
export const lazyPlugin = (name: string, load: () => Promise<BackendPlugin>): BackendPlugin => ({
  name,
  layer: (config) =>
    Layer.unwrapEffect(
      Effect.tryPromise({
        try: load,
        catch: (e) => backendError(name, { _tag: "InvalidConfig", problems: [`could not load the ${name} backend: ${e instanceof Error ? e.message : String(e)}`] }),
      }).pipe(Effect.map((plugin) => plugin.layer(config))),
    ),
});

export const dockerLazyPlugin = lazyPlugin("docker", async () => (await import("./docker/docker-backend.js")).dockerBackendPlugin);
export const kubernetesLazyPlugin = lazyPlugin("kubernetes", async () => (await import("./kubernetes/kubernetes-backend.js")).kubernetesBackendPlugin);

/** The backends that ship with Berth. */
export const builtinBackends: BackendRegistry = new Map([
  [processBackendPlugin.name, processBackendPlugin],
  [dockerLazyPlugin.name, dockerLazyPlugin],
  [kubernetesLazyPlugin.name, kubernetesLazyPlugin],
]);

/** A registry with more plugins (a later one replaces an earlier one of the same name). */
export function withPlugins(registry: BackendRegistry, ...plugins: readonly BackendPlugin[]): BackendRegistry {
  return new Map([...registry, ...plugins.map((p) => [p.name, p] as const)]);
}

export function makeBackendLayer(name: string, config: unknown, registry: BackendRegistry = builtinBackends): Layer.Layer<Backend, BackendError> {
  const plugin = registry.get(name);
  if (plugin === undefined) {
    const known = [...registry.keys()].sort().join(", ");
    return Layer.fail(backendError(name, { _tag: "InvalidConfig", problems: [`no backend named '${name}' (known: ${known})`] }));
  }
  return plugin.layer(config);
}
