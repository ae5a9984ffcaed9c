import { recencyWeight } from '../../src/index.js';

describe('recencyWeight', () => {
  it('weighs the last 7 days 3x with exponential decay on a 7-day scale', () => {
    expect(recencyWeight(0)).toBeCloseTo(3, 12);
    expect(recencyWeight(3.5)).toBeCloseTo(3 * Math.exp(-0.5), 12);
    expect(recencyWeight(6.999)).toBeCloseTo(3 * Math.exp(-6.999 / 7), 12);
  });

  it('drops the 3x boost at exactly 7 days', () => {
    expect(recencyWeight(7)).toBeCloseTo(Math.exp(-1), 12);
    expect(recencyWeight(14)).toBeCloseTo(Math.exp(-2), 12);
  });

  it('counts negative ages (clock skew) as 0', () => {
    expect(recencyWeight(-2)).toBe(recencyWeight(0));
  });

  it('decays to 0 for an infinitely old execution and treats NaN as age 0', () => {
    expect(recencyWeight(Number.POSITIVE_INFINITY)).toBe(0);
    expect(recencyWeight(Number.NaN)).toBe(3);
  });
});
