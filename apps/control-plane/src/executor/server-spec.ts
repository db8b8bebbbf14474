import { join } from "node:path";
import type { Intent, ReplicaPlacement as CoreReplicaPlacement, ServerRecord } from "@berth/core";
import type { ServerSpec } from "@berth/backends/spec";
import { mintSidecarToken } from "../api/sidecar-auth.js";
import type { BerthdConfigShape } from "../config/config.js";

type EnsureServer = Extract<Intent, { readonly _tag: "EnsureServer" }>;

const placementFor = (p: CoreReplicaPlacement) => ({ node: p.node, gpus: p.gpus.map((g) => g.index) });

/** berthd's address as a sidecar on this machine dials it. */
const dialable = (listen: string): string => listen.replace(/^(0\.0\.0\.0|\[::\]|::|):/, "127.0.0.1:");

const sidecarSettings = (config: BerthdConfigShape, berthd: string, serverId: string): ServerSpec["sidecar"] => ({
  berthd: dialable(berthd),
  repositories: config.repositories.map((r) => ({ name: r.name, location: r.kind === "dir" ? r.dir : r.url })),
  cache: join(config.stateDir, "cache"),
  // With a sidecar secret the sidecars authenticate, over TLS when berthd has a certificate.
  ...(config.auth.sidecarSecret !== undefined ? { token: mintSidecarToken(config.auth.sidecarSecret, serverId) } : {}),
  ...(config.sidecarTls !== undefined ? { berthdCa: config.sidecarTls.ca } : {}),
  ...(config.sidecarTls?.serverName !== undefined ? { berthdServerName: config.sidecarTls.serverName } : {}),
});

const labelsFor = (owner: string | undefined, pool: string | undefined): Record<string, string> => ({
  ...(owner !== undefined ? { "berth.dev/lease": owner } : {}),
  ...(pool !== undefined ? { "berth.dev/pool": pool } : {}),
});

/** The backend's server spec for decide's EnsureServer; `berthd` is the API address its sidecars dial. */
export const specFromIntent = (intent: EnsureServer, config: BerthdConfigShape, berthd: string = config.listen): ServerSpec => ({
  serverId: intent.serverId,
  image: intent.template.image === "" ? config.images.default : intent.template.image,
  group: intent.template.group,
  node: intent.node,
  gpus: intent.gpus.map((g) => g.index),
  placements: intent.placements.map(placementFor),
  resources: intent.template.resources,
  replicas: intent.replicas,
  labels: labelsFor(intent.owner, intent.pool),
  // Simulated servers have no sidecar; every real backend runs one beside each replica.
  ...(config.backend.kind !== "sim" ? { sidecar: sidecarSettings(config, berthd, intent.serverId) } : {}),
});

/** The spec of a server the snapshot holds (to converge the backend to it after a restart). */
export const specFromRecord = (server: ServerRecord, config: BerthdConfigShape, berthd: string = config.listen): ServerSpec | undefined => {
  const first = server.replicas[0];
  if (first === undefined) return undefined;
  return specFromIntent(
    {
      _tag: "EnsureServer",
      serverId: server.id,
      node: first.node,
      gpus: first.gpus,
      template: server.template,
      replicas: server.replicas.length,
      placements: server.replicas,
      ...(server.pool !== undefined ? { pool: server.pool } : {}),
      ...(server.owner !== undefined ? { owner: server.owner } : {}),
    },
    config,
    berthd,
  );
};
