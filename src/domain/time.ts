/** Time arithmetic for the learning math. All days are UTC days. */
import { InvalidInputError } from '../errors.js';

export const MS_PER_DAY = 86_400_000;

/** Parses an ISO string or Date into epoch milliseconds; throws RangeError on an invalid time. */
export function toEpochMs(value: string | Date): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidInputError(`invalid timestamp: ${String(value)}`);
  return ms;
}

/** Age in fractional days; a timestamp after `nowMs` (clock skew) has age 0. */
export function ageInDays(finishedAtMs: number, nowMs: number): number {
  return Math.max(0, (nowMs - finishedAtMs) / MS_PER_DAY);
}

/** Days since the epoch of the UTC day containing `ms`. */
export function utcDayIndex(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** `YYYY-MM-DD` of a UTC day index. */
export function dayKey(dayIndex: number): string {
  return new Date(dayIndex * MS_PER_DAY).toISOString().slice(0, 10);
}

/** UTC day index of a `YYYY-MM-DD` key. */
export function dayIndexOfKey(key: string): number {
  return utcDayIndex(Date.parse(`${key}T00:00:00.000Z`));
}
