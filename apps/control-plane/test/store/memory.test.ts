import { describe } from "@effect/vitest";
import { Store } from "../../src/store/index.js";
import { storeContract } from "./contract.js";

describe("Store.layerMemory", () => {
  storeContract(() => Store.layerMemory, { propertyRuns: 100 });
});
