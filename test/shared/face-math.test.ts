import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cosineDistance,
  cosineSimilarity,
  distance,
  euclidean,
  euclideanL2,
  l2Normalize,
  norm,
} from '../../src/shared/face-math.js';
import { mulberry32 } from '../../src/shared/prng.js';

// Deterministic, so property checks are repeatable.
const random = mulberry32(42);
const vector = (n: number, scale = 1) => Array.from({ length: n }, () => (random() * 2 - 1) * scale);

const close = (got: number, want: number, eps = 1e-12) =>
  assert.ok(Math.abs(got - want) <= eps, `${got} != ${want} (eps ${eps})`);

void describe('cosineDistance', () => {
  // Expected values computed with scipy.spatial.distance.cosine.
  void it('is 1 for orthogonal vectors ([1,0] vs [0,1])', () => {
    close(cosineDistance([1, 0], [0, 1]), 1);
  });

  void it('is 2 for opposite vectors and 0 for parallel ones of any length', () => {
    close(cosineDistance([1, 0], [-1, 0]), 2);
    close(cosineDistance([3, 4], [6, 8]), 0);
  });

  void it('matches scipy for [1,2,3] vs [4,5,6] (0.025368153802923787)', () => {
    close(cosineDistance([1, 2, 3], [4, 5, 6]), 0.025368153802923787, 1e-15);
  });

  void it('matches scipy for mixed-sign vectors (1.8656915319069443)', () => {
    close(cosineDistance([1, -2, 0.5], [0.3, 4, -1]), 1.8656915319069443, 1e-15);
  });

  void it('is 1 - cosine similarity and symmetric', () => {
    for (let i = 0; i < 50; i++) {
      const a = vector(16);
      const b = vector(16);
      close(cosineDistance(a, b), 1 - cosineSimilarity(a, b));
      close(cosineDistance(a, b), cosineDistance(b, a));
    }
  });

  void it('accepts Float32Array embeddings', () => {
    close(cosineDistance(Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6)), 0.025368153802923787, 1e-7);
  });
});

void describe('euclidean', () => {
  void it('matches hand-computed distances', () => {
    close(euclidean([0, 0], [3, 4]), 5);
    close(euclidean([1, 2, 3], [4, 5, 6]), Math.sqrt(27));
    close(euclidean([1, 2, 3], [1, 2, 3]), 0);
  });

  void it('depends on vector length, unlike cosine', () => {
    close(euclidean([1, 0], [2, 0]), 1);
    close(cosineDistance([1, 0], [2, 0]), 0);
  });
});

void describe('euclideanL2', () => {
  void it('equals sqrt(2 * cosine distance) for any vectors', () => {
    for (let i = 0; i < 200; i++) {
      const n = 2 + Math.floor(random() * 511);
      const a = vector(n, 1 + random() * 100);
      const b = vector(n, 1 + random() * 0.01);
      close(euclideanL2(a, b), Math.sqrt(2 * cosineDistance(a, b)), 1e-9);
    }
  });

  void it('is the euclidean distance between the L2-normalised vectors', () => {
    for (let i = 0; i < 50; i++) {
      const a = vector(512, 7);
      const b = vector(512, 0.3);
      close(euclideanL2(a, b), euclidean(l2Normalize(a), l2Normalize(b)), 1e-6);
    }
  });

  void it('is 0 for parallel, sqrt(2) for orthogonal and 2 for opposite vectors', () => {
    close(euclideanL2([2, 0], [5, 0]), 0);
    close(euclideanL2([1, 0], [0, 3]), Math.SQRT2);
    close(euclideanL2([1, 1], [-2, -2]), 2);
  });
});

void describe('l2Normalize and distance()', () => {
  void it('l2Normalize gives a unit vector in the same direction', () => {
    const v = vector(512, 10);
    const u = l2Normalize(v);
    close(norm(u), 1, 1e-6);
    close(cosineDistance(u, v), 0, 1e-6);
  });

  void it('l2Normalize leaves a zero vector at zero instead of NaN', () => {
    assert.deepEqual([...l2Normalize([0, 0, 0])], [0, 0, 0]);
  });

  void it('distance() dispatches to each metric', () => {
    const a = [1, 2, 3];
    const b = [4, 5, 6];
    assert.equal(distance('cosine', a, b), cosineDistance(a, b));
    assert.equal(distance('euclidean', a, b), euclidean(a, b));
    assert.equal(distance('euclidean_l2', a, b), euclideanL2(a, b));
  });
});
