import { describe, expect, it } from "vitest";
import { loadSidecarGrpc, SIDECAR_SERVICE_NAME } from "../src/sidecar.js";

describe("the SidecarService contract", () => {
  it("is one bidirectional stream, Connect", () => {
    const { service } = loadSidecarGrpc();
    expect(Object.values(service).map((m) => [m.path, m.requestStream, m.responseStream])).toEqual([
      [`/${SIDECAR_SERVICE_NAME}/Connect`, true, true],
    ]);
  });

  it("round-trips an Assignment with lease.proto's ModelRef and a report's oneof", () => {
    const connect = loadSidecarGrpc().service.Connect;
    const assignment = { generation: 7, leases: [{ lease_id: "l1", lease_name: "a", models: [{ name: "simple", version: 0, repository: "demo" }] }] };
    expect(connect.responseDeserialize(connect.responseSerialize(assignment))).toEqual(assignment);
    const report = { lease: { lease_id: "l1", generation: 7, loaded: { measured_memory_bytes: 2 ** 40, load_time_ms: 12, models: [] } } };
    const decoded = connect.requestDeserialize(connect.requestSerialize(report)) as { report: string; lease: { state: string; loaded: { measured_memory_bytes: number } } };
    expect(decoded.report).toBe("lease");
    expect(decoded.lease.state).toBe("loaded");
    expect(decoded.lease.loaded.measured_memory_bytes).toBe(2 ** 40);
  });
});
