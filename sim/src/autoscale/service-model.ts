import type { LlmRequest } from "./azure-trace.js";

// How long one request occupies a replica. An LLM server runs a batch of sequences at once
// (continuous batching); we model a replica as `slotsPerReplica` independent slots and a request
// as prefill (prompt tokens at a fixed rate) plus decode (a fixed time per generated token).
//
// Default numbers: a 13B-parameter model in fp16 on one 80 GB A100 serving a batch of 4
// sequences (vLLM-class server): prompt processing about 4,000 tokens/s per sequence and about
// 40 ms per generated token. On this trace (mean 2,048 prompt tokens, 28 generated) that is a
// mean of about 1.6 s per request, so one replica serves about 2.5 requests/s.

export interface ServiceModel {
  readonly prefillTokensPerS: number;
  readonly decodeMsPerToken: number;
  readonly slotsPerReplica: number;
}

export const defaultServiceModel: ServiceModel = { prefillTokensPerS: 4000, decodeMsPerToken: 40, slotsPerReplica: 4 };

export const serviceMs = (m: ServiceModel, r: Pick<LlmRequest, "contextTokens" | "generatedTokens">): number =>
  (r.contextTokens / m.prefillTokensPerS) * 1000 + r.generatedTokens * m.decodeMsPerToken;
