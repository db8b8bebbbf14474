import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeaseRecord } from "@berth/core";
import { fieldViolationsOf, isServiceError, type BerthClient, type Input, type LeasePhaseName, type ListLeasesRequest } from "@berth/api/berth";
import { compareLeases, leasePage, MAX_PAGE_SIZE, pageLimit, type LeaseCursor } from "../src/api/list-page.js";
import { collect, startBerthd, type RunningBerthd } from "./harness.js";

// LeaseService.List's paging against a real berthd: opt-in (page_size 0 is everything), today's
// order across pages, filters kept, a cursor that leases created or released between pages do
// not move, and INVALID_ARGUMENT for a bad page_size or token. The pure pager is checked with
// fast-check under random creates and removals between pages.

const AUTH = {
  tokens: [
    { token: "admin-token", tenant: "ops", admin: true },
    { token: "a-token", tenant: "team-a" },
    { token: "b-token", tenant: "team-b" },
  ],
};
const LIVE: LeasePhaseName[] = ["LEASE_PHASE_PENDING", "LEASE_PHASE_PLACING", "LEASE_PHASE_LOADING", "LEASE_PHASE_READY"];

const spec = (name: string, labels: Record<string, string>) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "256Mi" }, labels });

/** Every page of a listing, in order, as the client sees them. */
const pagesOf = async (client: BerthClient, request: Input<ListLeasesRequest>, pageSize: number) => {
  const pages: { names: string[]; token: string }[] = [];
  let pageToken = "";
  do {
    const page = await client.lease.list({ ...request, pageSize, pageToken });
    pages.push({ names: page.leases.map((l) => l.name), token: page.nextPageToken });
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && pages.length < 100);
  return pages;
};

const invalid = async (call: Promise<unknown>): Promise<{ message: string; fields: string[] }> => {
  try {
    await call;
  } catch (error) {
    if (isServiceError(error) && error.code === grpc.status.INVALID_ARGUMENT) return { message: error.details, fields: fieldViolationsOf(error).map((v) => v.field) };
    throw error;
  }
  throw new Error("the call succeeded");
};

describe("LeaseService.List paging (berthd)", () => {
  let berthd: RunningBerthd;
  let a: BerthClient;
  let b: BerthClient;
  let admin: BerthClient;

  beforeAll(async () => {
    // Room for every lease here: each bespoke lease gets its own server (a CPU and a GPU share).
    berthd = await startBerthd({ config: { auth: AUTH, nodes: [{ name: "n1", cpu: "64", memory: "256Gi", gpus: Array.from({ length: 16 }, () => ({ model: "A10", memory: "8Gi" })) }] } });
    a = berthd.client("a-token");
    b = berthd.client("b-token");
    admin = berthd.client("admin-token");
    // Created out of name order: List sorts by name, not by creation.
    for (const name of ["p-3", "p-1", "p-5", "p-2", "p-4"]) await collect(a.lease.create({ spec: spec(name, { set: "five" }) }));
    await collect(b.lease.create({ spec: spec("p-0", { set: "five" }) }));
  });
  afterAll(async () => {
    await berthd?.stop();
  });

  it("pages of 2 over 5 leases return each once, in the unpaged order, the last with no token", async () => {
    const everything = (await a.lease.list({ labelSelector: "set=five" })).leases.map((l) => l.name);
    expect(everything).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5"]);
    const pages = await pagesOf(a, { labelSelector: "set=five" }, 2);
    expect(pages.map((p) => p.names)).toEqual([["p-1", "p-2"], ["p-3", "p-4"], ["p-5"]]);
    expect(pages.map((p) => p.token !== "")).toEqual([true, true, false]);
  });

  it("page_size 0 (or none) returns everything with no token; a page as large as the rest ends the listing", async () => {
    const unpaged = await a.lease.list({ labelSelector: "set=five" });
    expect(unpaged.nextPageToken).toBe("");
    const zero = await a.lease.list({ labelSelector: "set=five", pageSize: 0 });
    expect(zero.leases.map((l) => l.name)).toEqual(unpaged.leases.map((l) => l.name));
    expect(zero.nextPageToken).toBe("");
    const exact = await a.lease.list({ labelSelector: "set=five", pageSize: 5 });
    expect([exact.leases.length, exact.nextPageToken]).toEqual([5, ""]);
    const huge = await a.lease.list({ labelSelector: "set=five", pageSize: 2_000_000 });
    expect(huge.leases.map((l) => l.name)).toEqual(unpaged.leases.map((l) => l.name));
  });

  it("keeps tenant, phase and label filters on every page", async () => {
    const byTenant = await pagesOf(admin, { tenant: "team-a", labelSelector: "set=five" }, 1);
    expect(byTenant.flatMap((p) => p.names)).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5"]);
    const allTenants = await pagesOf(admin, { labelSelector: "set=five" }, 4);
    expect(allTenants.map((p) => p.names)).toEqual([["p-0", "p-1", "p-2", "p-3"], ["p-4", "p-5"]]);
    expect((await pagesOf(b, { labelSelector: "set=five" }, 1)).flatMap((p) => p.names)).toEqual(["p-0"]);
    const live = (await pagesOf(a, { labelSelector: "set=five", phases: LIVE }, 2)).flatMap((p) => p.names);
    expect(live).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5"]);
    expect(await pagesOf(a, { labelSelector: "set=five", phases: ["LEASE_PHASE_FAILED"] }, 2)).toEqual([{ names: [], token: "" }]);
  });

  it("the client's listAll fetches every page", async () => {
    const unpaged = (await admin.lease.list({})).leases.map((l) => l.id);
    expect((await admin.lease.listAll({}, { pageSize: 2 })).map((l) => l.id)).toEqual(unpaged);
    expect((await admin.lease.listAll({})).map((l) => l.id)).toEqual(unpaged);
  });

  it("a lease created after the cursor appears, one created or released before it moves nothing", async () => {
    for (const name of ["m-b", "m-d", "m-f"]) await collect(a.lease.create({ spec: spec(name, { set: "moving" }) }));
    const request = { labelSelector: "set=moving", phases: LIVE };
    const first = await a.lease.list({ ...request, pageSize: 2 });
    expect(first.leases.map((l) => l.name)).toEqual(["m-b", "m-d"]);
    // Between pages, one new lease sorts before the cursor and one after: an offset would repeat m-d.
    await collect(a.lease.create({ spec: spec("m-a", { set: "moving" }) }));
    await collect(a.lease.create({ spec: spec("m-e", { set: "moving" }) }));
    const second = await a.lease.list({ ...request, pageSize: 2, pageToken: first.nextPageToken });
    expect(second.leases.map((l) => l.name)).toEqual(["m-e", "m-f"]);
    expect(second.nextPageToken).toBe("");

    // Now one already returned leaves the live set between pages: an offset would skip m-d.
    const again = await a.lease.list({ ...request, pageSize: 2 });
    expect(again.leases.map((l) => l.name)).toEqual(["m-a", "m-b"]);
    await a.lease.release({ name: "m-a" });
    const onward = await a.lease.list({ ...request, pageSize: 2, pageToken: again.nextPageToken });
    expect(onward.leases.map((l) => l.name)).toEqual(["m-d", "m-e"]);
    const last = await a.lease.list({ ...request, pageSize: 2, pageToken: onward.nextPageToken });
    expect([last.leases.map((l) => l.name), last.nextPageToken]).toEqual([["m-f"], ""]);

    // Without the phase filter the released lease stays listed (Released), once.
    const all = await pagesOf(a, { labelSelector: "set=moving" }, 1);
    expect(all.flatMap((p) => p.names)).toEqual(["m-a", "m-b", "m-d", "m-e", "m-f"]);
  });

  it("INVALID_ARGUMENT for a negative page_size, naming the field", async () => {
    for (const pageSize of [-1, -2_147_483_648]) {
      const error = await invalid(a.lease.list({ pageSize }));
      expect(error.fields).toEqual(["pageSize"]);
      expect(error.message).toContain("pageSize");
    }
  });

  it("INVALID_ARGUMENT for a malformed token", async () => {
    const notJson = Buffer.from("not json", "utf8").toString("base64url");
    const wrongShape = Buffer.from(JSON.stringify({ v: 1, n: 3 }), "utf8").toString("base64url");
    for (const pageToken of ["garbage!", "%%%", notJson, wrongShape, "e30"]) {
      const error = await invalid(a.lease.list({ pageSize: 2, pageToken }));
      expect(error.fields).toEqual(["pageToken"]);
      expect(error.message).toMatch(/pageToken: not a page token berthd issued/);
    }
  });

  it("INVALID_ARGUMENT for a token used with other filters (selector, phases, tenant)", async () => {
    const { nextPageToken } = await a.lease.list({ labelSelector: "set=five", pageSize: 2 });
    expect(nextPageToken).not.toBe("");
    const others: Input<ListLeasesRequest>[] = [{ labelSelector: "set=moving" }, { labelSelector: "set=five", phases: ["LEASE_PHASE_READY"] }, { labelSelector: "" }];
    for (const request of others) {
      const error = await invalid(a.lease.list({ ...request, pageSize: 2, pageToken: nextPageToken }));
      expect(error.fields).toEqual(["pageToken"]);
      expect(error.message).toMatch(/other filters/);
    }
    // The same token from another tenant, or an admin across every tenant: other filters too.
    expect((await invalid(b.lease.list({ labelSelector: "set=five", pageSize: 2, pageToken: nextPageToken }))).fields).toEqual(["pageToken"]);
    expect((await invalid(admin.lease.list({ labelSelector: "set=five", pageSize: 2, pageToken: nextPageToken }))).fields).toEqual(["pageToken"]);
    // ...while naming the tenant explicitly is the same listing, and it goes on.
    const onward = await admin.lease.list({ tenant: "team-a", labelSelector: "set=five", pageSize: 2, pageToken: nextPageToken });
    expect(onward.leases.map((l) => l.name)).toEqual(["p-3", "p-4"]);
    // The order of phases does not change the listing.
    const phased = await a.lease.list({ labelSelector: "set=five", phases: LIVE, pageSize: 2 });
    const reordered = await a.lease.list({ labelSelector: "set=five", phases: [...LIVE].reverse(), pageSize: 2, pageToken: phased.nextPageToken });
    expect(reordered.leases.map((l) => l.name)).toEqual(["p-3", "p-4"]);
  });
});

describe("the pager (list-page.ts)", () => {
  const record = (name: string, createdAt: number, id: string) => ({ id, createdAt, spec: { name } }) as unknown as LeaseRecord;

  it("caps page_size at MAX_PAGE_SIZE, 0 is no limit, negatives are violations", () => {
    expect(pageLimit(0)).toBeUndefined();
    expect(pageLimit(1)).toBe(1);
    expect(pageLimit(MAX_PAGE_SIZE + 1)).toBe(MAX_PAGE_SIZE);
    expect(pageLimit(-1)).toMatchObject({ field: "pageSize" });
    const many = Array.from({ length: MAX_PAGE_SIZE + 5 }, (_, i) => record(`l-${String(i).padStart(5, "0")}`, i, `id-${i}`));
    const page = leasePage(many, undefined, pageLimit(5000) as number);
    expect(page.leases).toHaveLength(MAX_PAGE_SIZE);
    expect(page.next?.name).toBe("l-00999");
  });

  it("each lease present throughout the paging appears exactly once, in order, whatever comes and goes between pages", () => {
    // A lease: a name from a small alphabet (so names repeat, as ended leases' do) and a creation time.
    const lease = fc.record({ name: fc.constantFrom("a", "b", "c", "d", "e", "f"), createdAt: fc.integer({ min: 0, max: 5 }) });
    const step = fc.record({ add: fc.array(lease, { maxLength: 3 }), remove: fc.array(fc.nat(), { maxLength: 2 }) });
    fc.assert(
      fc.property(fc.array(lease, { maxLength: 25 }), fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 12 }), (initial, size, steps) => {
        let next = 0;
        const make = (l: { name: string; createdAt: number }) => record(l.name, l.createdAt, `id-${next++}`);
        let current = initial.map(make);
        const everPresent = new Set(current.map((l) => l.id));
        const seen: LeaseRecord[] = [];
        let cursor: LeaseCursor | undefined;
        for (let i = 0; ; i++) {
          if (i > 200) throw new Error("the paging does not end");
          const page = leasePage(current, cursor, size);
          expect(page.leases.length).toBeLessThanOrEqual(size);
          seen.push(...page.leases);
          if (page.next === undefined) break;
          cursor = page.next;
          // Each step once, between two pages; then nothing changes, so the paging must end.
          const { add, remove } = steps[i] ?? { add: [], remove: [] };
          const gone = new Set(remove.map((r) => current[r % Math.max(current.length, 1)]?.id));
          for (const id of gone) everPresent.delete(id ?? "");
          current = [...current.filter((l) => !gone.has(l.id)), ...add.map(make)];
        }
        const ids = seen.map((l) => l.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of everPresent) if (current.some((l) => l.id === id)) expect(ids).toContain(id);
        expect([...seen].sort(compareLeases)).toEqual(seen);
      }),
    );
  });
});
