import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/** A name for this process among berthd replicas: host, pid and a random suffix (pids repeat in containers). */
export const defaultReplicaName = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
