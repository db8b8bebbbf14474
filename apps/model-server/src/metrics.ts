// Prometheus text exposition with Triton's metric names and labels ({model, version}; the
// failure counter also has {reason}), so dashboards and autoscalers built for Triton read
// this server unchanged. Per-model memory has no Triton metric; it is exported under a
// berth_ name (and in the statistics extension's memory_usage, which is Triton's channel).
import { freemem, totalmem } from "node:os";
import type { LoadedVersion } from "./model-registry.js";
import type { FailureReason } from "./statistics.js";

interface Family {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly samples: readonly { readonly labels: Record<string, string>; readonly value: number }[];
}

const FAILURE_REASONS: readonly (FailureReason | "CANCELED")[] = ["REJECTED", "CANCELED", "BACKEND", "OTHER"];

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function render(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      lines.push(`${f.name}${labels === "" ? "" : `{${labels}}`} ${Number.isInteger(s.value) ? s.value : s.value.toFixed(3)}`);
    }
  }
  return lines.join("\n") + "\n";
}

const us = (ns: number) => Math.floor(ns / 1000);

/** The exposition for the models loaded now. */
export function renderMetrics(loaded: readonly LoadedVersion[]): string {
  const per = (value: (v: LoadedVersion) => number) =>
    loaded.map((v) => ({ labels: { model: v.model, version: String(v.version) }, value: value(v) }));
  const families: Family[] = [
    { name: "nv_inference_request_success", type: "counter", help: "Number of successful inference requests, all batch sizes", samples: per((v) => v.stats.success.count) },
    {
      name: "nv_inference_request_failure",
      type: "counter",
      help: "Number of failed inference requests, all batch sizes",
      samples: loaded.flatMap((v) =>
        FAILURE_REASONS.map((reason) => ({
          labels: { model: v.model, version: String(v.version), reason },
          value: reason === "CANCELED" ? 0 : (v.stats.failuresByReason.get(reason) ?? 0),
        })),
      ),
    },
    { name: "nv_inference_count", type: "counter", help: "Number of inferences performed (does not include cached requests)", samples: per((v) => v.stats.inferenceCount) },
    { name: "nv_inference_exec_count", type: "counter", help: "Number of model executions performed (does not include cached requests)", samples: per((v) => v.stats.executionCount) },
    { name: "nv_inference_pending_request_count", type: "gauge", help: "Instantaneous number of pending requests awaiting execution per-model.", samples: per((v) => v.stats.pending) },
    { name: "nv_inference_request_duration_us", type: "counter", help: "Cumulative inference request duration in microseconds (includes cached requests)", samples: per((v) => us(v.stats.success.ns)) },
    { name: "nv_inference_queue_duration_us", type: "counter", help: "Cumulative inference queuing duration in microseconds (includes cached requests)", samples: per((v) => us(v.stats.queue.ns)) },
    { name: "nv_inference_compute_input_duration_us", type: "counter", help: "Cumulative compute input duration in microseconds (does not include cached requests)", samples: per((v) => us(v.stats.computeInput.ns)) },
    { name: "nv_inference_compute_infer_duration_us", type: "counter", help: "Cumulative compute inference duration in microseconds (does not include cached requests)", samples: per((v) => us(v.stats.computeInfer.ns)) },
    { name: "nv_inference_compute_output_duration_us", type: "counter", help: "Cumulative inference compute output duration in microseconds (does not include cached requests)", samples: per((v) => us(v.stats.computeOutput.ns)) },
    { name: "nv_cpu_memory_total_bytes", type: "gauge", help: "CPU total memory (RAM), in bytes", samples: [{ labels: {}, value: totalmem() }] },
    { name: "nv_cpu_memory_used_bytes", type: "gauge", help: "CPU used memory (RAM), in bytes", samples: [{ labels: {}, value: totalmem() - freemem() }] },
    {
      name: "berth_model_memory_bytes",
      type: "gauge",
      help: "Memory of a loaded model version: kind=file is the model file size, kind=rss_delta the growth of the server's resident set while ONNX Runtime opened it",
      samples: loaded.flatMap((v) => [
        { labels: { model: v.model, version: String(v.version), kind: "file" }, value: v.memory.fileBytes },
        { labels: { model: v.model, version: String(v.version), kind: "rss_delta" }, value: v.memory.rssDeltaBytes },
      ]),
    },
  ];
  return render(families);
}
