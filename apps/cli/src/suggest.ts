// "Did you mean": the core's closest-word helper. Loaded only when something is misspelt
// (the core's spec modules bring effect along, which costs start-up time).
export { closest } from "@berth/core/spec/issues";
