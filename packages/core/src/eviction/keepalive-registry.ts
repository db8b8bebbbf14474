// Keep-alive policies by name.
import type { KeepAlivePolicy } from "./keepalive.js";
import { MINUTE } from "./keepalive.js";
import { BERTH_KEEPALIVE } from "./keepalive-berth.js";
import { pooledBerthKeepAlive } from "./keepalive-berth-pooled.js";
import { fixed, UNTIL_NEEDED, untilNeeded } from "./keepalive-fixed.js";
import { HYBRID_HISTOGRAM, hybridHistogram } from "./keepalive-hybrid.js";

export const keepAlivePolicies: Readonly<Record<string, () => KeepAlivePolicy>> = {
  "fixed-10m": () => fixed(10 * MINUTE),
  "fixed-20m": () => fixed(20 * MINUTE),
  [HYBRID_HISTOGRAM]: () => hybridHistogram(),
  // The pooled plan is Berth's keep-alive (sim/results/keepalive.md); one instance per run: it learns online.
  [BERTH_KEEPALIVE]: () => pooledBerthKeepAlive(),
  [UNTIL_NEEDED]: () => untilNeeded(),
};

export const keepAlivePolicyNames = Object.keys(keepAlivePolicies);

/** The keep-alive policy registered under `name`; `fixed-<n>m` works for any n. */
export const keepAlivePolicy = (name: string): KeepAlivePolicy | undefined => {
  const registered = keepAlivePolicies[name];
  if (registered) return registered();
  const m = /^fixed-(\d+(?:\.\d+)?)m$/.exec(name);
  return m ? fixed(Number(m[1]) * MINUTE) : undefined;
};
