import { powerOfTwoPicker, POWER_OF_TWO_PICKER_NAME } from "./power-of-two.js";
import { roundRobinPicker, ROUND_ROBIN_PICKER_NAME } from "./round-robin.js";
import type { ReplicaPicker } from "./types.js";

export type ReplicaPickerName = typeof POWER_OF_TWO_PICKER_NAME | typeof ROUND_ROBIN_PICKER_NAME;

/** Replica pickers by name. */
export const replicaPickers: Readonly<Record<ReplicaPickerName, () => ReplicaPicker>> = {
  [POWER_OF_TWO_PICKER_NAME]: powerOfTwoPicker,
  [ROUND_ROBIN_PICKER_NAME]: roundRobinPicker,
};

export const isReplicaPickerName = (name: string): name is ReplicaPickerName => Object.hasOwn(replicaPickers, name);
