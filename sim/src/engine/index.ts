export { EventQueue } from "./event-queue.js";
export { Priority, Simulation, type Handler } from "./simulation.js";
