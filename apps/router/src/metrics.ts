// The router's Prometheus metrics, kept as plain counters and rendered as text on scrape:
// requests by protocol, model and code; upstream latency by model; load and health per replica.
import type { ReplicaState } from "./replica-state.js";

/** Upper bounds in seconds: fine below a millisecond, where a proxy's own cost shows. */
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label for requests whose model no lease holds, so unknown names cannot grow the series without bound. */
export const UNROUTED_MODEL = "_unrouted";

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export class RouterMetrics {
  private readonly requests = new Map<string, { protocol: string; model: string; code: string; n: number }>();
  private readonly latency = new Map<string, Histogram>();
  private retries = 0;

  request(protocol: string, model: string, code: string | number): void {
    const key = `${protocol}\u0000${model}\u0000${code}`;
    const entry = this.requests.get(key);
    if (entry !== undefined) entry.n++;
    else this.requests.set(key, { protocol, model, code: String(code), n: 1 });
  }

  retry(): void {
    this.retries++;
  }

  upstreamLatency(model: string, seconds: number): void {
    let h = this.latency.get(model);
    if (h === undefined) this.latency.set(model, (h = { counts: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) if (seconds <= LATENCY_BUCKETS_S[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  render(replicas: ReplicaState, held: ReadonlyMap<string, number>, routedModels: number, ready: boolean): string {
    const out: string[] = [];
    out.push("# HELP berth_router_requests_total Requests the router answered, by protocol, model and status code.");
    out.push("# TYPE berth_router_requests_total counter");
    for (const e of this.requests.values()) {
      out.push(`berth_router_requests_total{code="${escape(e.code)}",model="${escape(e.model)}",protocol="${e.protocol}"} ${e.n}`);
    }
    out.push("# HELP berth_router_upstream_latency_seconds Time from forwarding a request to the end of the replica's answer.");
    out.push("# TYPE berth_router_upstream_latency_seconds histogram");
    for (const [model, h] of this.latency) {
      const m = escape(model);
      LATENCY_BUCKETS_S.forEach((le, i) => out.push(`berth_router_upstream_latency_seconds_bucket{le="${le}",model="${m}"} ${h.counts[i]}`));
      out.push(`berth_router_upstream_latency_seconds_bucket{le="+Inf",model="${m}"} ${h.count}`);
      out.push(`berth_router_upstream_latency_seconds_sum{model="${m}"} ${h.sum}`);
      out.push(`berth_router_upstream_latency_seconds_count{model="${m}"} ${h.count}`);
    }
    out.push("# HELP berth_router_upstream_retries_total Requests sent again to another replica after a connection failure.");
    out.push("# TYPE berth_router_upstream_retries_total counter");
    out.push(`berth_router_upstream_retries_total ${this.retries}`);
    const entries = replicas.entries();
    out.push("# HELP berth_router_outstanding_requests Requests forwarded to a replica and not yet answered.");
    out.push("# TYPE berth_router_outstanding_requests gauge");
    for (const r of entries) out.push(`berth_router_outstanding_requests{replica="${escape(r.id)}"} ${r.outstanding}`);
    out.push("# HELP berth_router_replica_up 0 while a replica is marked down after a connection failure.");
    out.push("# TYPE berth_router_replica_up gauge");
    for (const r of entries) out.push(`berth_router_replica_up{replica="${escape(r.id)}"} ${r.up ? 1 : 0}`);
    out.push("# HELP berth_router_held_requests Requests waiting for an auto-lease, by model.");
    out.push("# TYPE berth_router_held_requests gauge");
    for (const [model, n] of held) out.push(`berth_router_held_requests{model="${escape(model)}"} ${n}`);
    out.push("# HELP berth_router_routed_models Models with at least one routable lease.");
    out.push("# TYPE berth_router_routed_models gauge");
    out.push(`berth_router_routed_models ${routedModels}`);
    out.push("# HELP berth_router_ready 1 once the router has a routing table.");
    out.push("# TYPE berth_router_ready gauge");
    out.push(`berth_router_ready ${ready ? 1 : 0}`);
    return `${out.join("\n")}\n`;
  }
}
