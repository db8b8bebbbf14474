// Plugin loading: backends by name. berthd's configuration names one (`backend: process`) and
// hands it its own configuration object, which the plugin decodes.
import { Layer } from "effect";
import type { Backend } from "./backend.js";
import { backendError, type BackendError } from "./errors.js";
import { dockerBackendPlugin } from "./docker/docker-backend.js";
import { kubernetesBackendPlugin } from "./kubernetes/kubernetes-backend.js";
import { PROCESS_BACKEND_NAME, processBackendLayerFromConfig } from "./process/process-backend.js";

export interface BackendPlugin {
  readonly name: string;
  /** Decodes `config` (InvalidConfig when it is wrong) and builds the backend. */
  readonly layer: (config: unknown) => Layer.Layer<Backend, BackendError>;
}

export type BackendRegistry = ReadonlyMap<string, BackendPlugin>;

export const processBackendPlugin: BackendPlugin = { name: PROCESS_BACKEND_NAME, layer: processBackendLayerFromConfig };

/** The backends that ship with Berth (docker and kubernetes join as they are written). */
export const builtinBackends: BackendRegistry = new Map([
  [processBackendPlugin.name, processBackendPlugin],
  [dockerBackendPlugin.name, dockerBackendPlugin],
  [kubernetesBackendPlugin.name, kubernetesBackendPlugin],
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
