// ROUND as Stream Analytics defines it: half away from zero, on the decimal value the user sees
// (2.675 rounds to 2.68 although its binary double is 2.67499…), keeping integers integers.

export function roundHalfAwayFromZero(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const d = Math.trunc(digits);
  const sign = x < 0 ? -1 : 1;
  const magnitude = Math.abs(x);
  if (d >= 0) {
    // Correct the binary representation to 15 significant digits before rounding.
    const scaled = Number((magnitude * 10 ** d).toPrecision(15));
    const rounded = Math.floor(scaled + 0.5) / 10 ** d;
    return sign * Number(rounded.toPrecision(15)) || 0;
  }
  const factor = 10 ** -d;
  const scaled = Number((magnitude / factor).toPrecision(15));
  return sign * Math.floor(scaled + 0.5) * factor || 0;
}
