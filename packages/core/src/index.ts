// @berth/core: the pure placement and lease core. No I/O, no clock reads, no randomness it
// was not handed. It takes state and events and returns new state and intents.
export * from "./units.js";
export * from "./random/rng.js";
export * from "./cluster/types.js";
export * from "./spec/index.js";
export * from "./placement/index.js";
export * from "./eviction/index.js";
export * from "./autoscaler/index.js";
export * from "./picker/index.js";
export * from "./lease/index.js";
export * from "./decide/index.js";
