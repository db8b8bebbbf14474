// KServe v2 HTTP and gRPC calls the tests make through the router, and what `simple` must answer.
import { createKServeClient } from "@berth/api/kserve";

export const simpleInputs = (seed: number) => {
  const input0 = Array.from({ length: 16 }, (_, i) => ((i * 7 + seed * 13) % 97) - 40);
  const input1 = Array.from({ length: 16 }, (_, i) => ((i * 5 + seed * 3) % 31) - 10);
  return { input0, input1, sum: input0.map((x, i) => x + input1[i]!), difference: input0.map((x, i) => x - input1[i]!) };
};

export interface InferAnswer {
  readonly status: number;
  readonly outputs: Readonly<Record<string, readonly number[]>>;
  readonly error?: string;
}

export async function inferSimple(base: string, seed = 1, model = "simple"): Promise<InferAnswer & { expected: ReturnType<typeof simpleInputs> }> {
  const expected = simpleInputs(seed);
  const response = await fetch(`${base}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      inputs: [
        { name: "INPUT0", shape: [1, 16], datatype: "INT32", data: expected.input0 },
        { name: "INPUT1", shape: [1, 16], datatype: "INT32", data: expected.input1 },
      ],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as { outputs?: { name: string; data: number[] }[]; error?: string };
  return {
    status: response.status,
    outputs: Object.fromEntries((body.outputs ?? []).map((o) => [o.name, o.data])),
    ...(body.error !== undefined ? { error: body.error } : {}),
    expected,
  };
}

const int32s = (bytes: Uint8Array): number[] => Array.from(new Int32Array(Uint8Array.prototype.slice.call(bytes).buffer));

/** `simple` over KServe v2 gRPC at `address` ("host:port"): the outputs, or the gRPC error's code and details. */
export async function inferSimpleGrpc(address: string, seed = 1): Promise<{ outputs?: Readonly<Record<string, readonly number[]>>; error?: string; expected: ReturnType<typeof simpleInputs> }> {
  const expected = simpleInputs(seed);
  const client = createKServeClient(address);
  try {
    const response = await client.modelInfer({
      model_name: "simple",
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [1, 16], contents: { int_contents: expected.input0 } },
        { name: "INPUT1", datatype: "INT32", shape: [1, 16], contents: { int_contents: expected.input1 } },
      ],
    });
    const outputs = Object.fromEntries(response.outputs.map((o, i) => [o.name, int32s(response.raw_output_contents[i]!)]));
    return { outputs, expected };
  } catch (e) {
    const error = e as { code?: number; details?: string };
    return { error: `${error.code ?? "?"}: ${error.details ?? String(e)}`, expected };
  } finally {
    client.close();
  }
}

/** Polls until `probe` returns something other than undefined, or fails naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
