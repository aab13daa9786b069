/**
 * Sharpness = variance of the 4-neighbour Laplacian over the centre of the aligned grey crop.
 * The border (where the warp may have filled black) is skipped so padding does not read as
 * detail. Typical values: < 50 blurry, several hundred for a sharp face (see the README).
 */
const BORDER = 12;

export function laplacianVariance(gray: Float32Array, size: number): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = BORDER; y < size - BORDER; y++) {
    for (let x = BORDER; x < size - BORDER; x++) {
      const i = y * size + x;
      const lap =
        (gray[i - 1] as number) +
        (gray[i + 1] as number) +
        (gray[i - size] as number) +
        (gray[i + size] as number) -
        4 * (gray[i] as number);
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}
