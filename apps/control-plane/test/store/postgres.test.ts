import { describe } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { Store } from "../../src/store/index.js";
import { storeContract } from "./contract.js";
import { freshSchema, testPostgresUrl } from "./postgres-env.js";

const url = testPostgresUrl();

describe("Store.layerPostgres (a real PostgreSQL)", () => {
  storeContract(() => Layer.unwrapScoped(Effect.map(freshSchema(url), (schema) => Store.layerPostgres({ url, schema }))), { propertyRuns: 8 });
});
