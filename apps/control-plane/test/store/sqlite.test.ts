import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "@effect/vitest";
import { Store } from "../../src/store/index.js";
import { storeContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "berth-store-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Store.layerSqlite", () => {
  storeContract(() => Store.layerSqlite({ path: join(dir, `store-${++n}.db`) }), { propertyRuns: 40 });
});
