import type { ServerFilter } from "./types.js";
import { fits } from "./types.js";

export const GPU_MEMORY_ROOM = "GpuMemoryRoom";
/** The lease needs more than the server has even when empty. */
export const SERVER_TOO_SMALL = "ServerTooSmall";
/** The leases already bound leave too little (measured memory counts where known). */
export const INSUFFICIENT_GPU_MEMORY = "InsufficientGpuMemory";

export const gpuMemoryRoom: ServerFilter["filter"] = (request, candidate) => {
  if (request.memory > candidate.capacity)
    return { code: "Never", reason: { plugin: GPU_MEMORY_ROOM, reason: SERVER_TOO_SMALL, need: request.memory, free: candidate.capacity } };
  const free = candidate.capacity - candidate.used;
  return request.memory <= free
    ? fits
    : { code: "NotNow", reason: { plugin: GPU_MEMORY_ROOM, reason: INSUFFICIENT_GPU_MEMORY, need: request.memory, free } };
};

export const gpuMemoryRoomFilter = (): ServerFilter => ({ name: GPU_MEMORY_ROOM, filter: gpuMemoryRoom });
