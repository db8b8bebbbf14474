import { Schema } from "effect";
import { show, plain } from "./issues.js";

/** A whole number in [min, max], with a plain message naming what it counts. */
export const wholeNumber = (what: string, min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n) && n >= min && n <= max)).annotations({
    message: plain((issue) =>
      typeof issue.actual === "number"
        ? `${show(issue.actual)} is not allowed for ${what}: use a whole number ${max === Number.MAX_SAFE_INTEGER ? `from ${min}` : `from ${min} to ${max}`}`
        : `${what} must be a number, not ${show(issue.actual)}`),
  });

/** A finite number greater than 0. */
export const positiveNumber = (what: string) =>
  Schema.Number.pipe(Schema.filter((n) => Number.isFinite(n) && n > 0)).annotations({
    message: plain((issue) =>
      typeof issue.actual === "number" ? `${show(issue.actual)} is not allowed for ${what}: it must be more than 0` : `${what} must be a number, not ${show(issue.actual)}`),
  });

export const Flag = (what: string) =>
  Schema.Boolean.annotations({ message: plain((issue) => `${what} must be true or false, not ${show(issue.actual)}`) });

/** A non-empty string without spaces (image references, GPU model names, metric names). */
export const Word = (what: string, maxLength = 255) =>
  Schema.String.pipe(Schema.filter((s) => s.length > 0 && s.length <= maxLength && !/\s/.test(s))).annotations({
    message: plain((issue) =>
      typeof issue.actual !== "string"
        ? `${what} must be a string, not ${show(issue.actual)}`
        : issue.actual.length === 0
          ? `${what} cannot be empty`
          : issue.actual.length > maxLength
            ? `${what} is too long: at most ${maxLength} characters`
            : `${show(issue.actual)} is not allowed for ${what}: it cannot contain spaces`),
  });

/** Decoded-side numbers (already validated): non-negative whole numbers. */
export const Count = Schema.Number.pipe(Schema.filter((n) => Number.isSafeInteger(n) && n >= 0));
