import { ServiceError, type ErrorCode } from '../../shared/errors.js';
import { norm } from '../../shared/face-math.js';
import { rank } from './ranking.js';
import { CompareRequest, type CompareResponse } from '../../shared/schemas.js';
import type { ThresholdTable } from '../../shared/thresholds.js';
import { parseJsonBytes } from '../validate.js';

const DEFAULT_TOP_K = 10;

const codeFor = (path: PropertyKey[]): ErrorCode =>
  path.includes('embedding') || path[0] === 'query_embedding' ? 'INVALID_EMBEDDING' : 'INVALID_REQUEST';

const tooMany = (max: number) =>
  new ServiceError('TOO_MANY_REFERENCES', `more than ${max} reference embeddings; the limit is ${max}`, {
    max_references: max,
  });

/** What /compare needs of the active pack: its model id and its published thresholds. */
export interface ComparePack {
  model: string;
  thresholds: ThresholdTable;
}

/**
 * The whole of /compare from the raw body to the answer: pure, so it can run on a thread
 * (compare-pool.ts). The reference count is checked on the bytes before parsing.
 *
 * Embeddings of two models are never compared: a query whose `model` is not the active pack's
 * is refused (its thresholds are the pack's), and a reference whose `model` is not the query's
 * is skipped and counted. Embeddings without `model` are taken as the active pack's (the
 * integration guide's shape carries none).
 */
export function compareBody(bytes: Buffer, maxReferences: number, pack: ComparePack): CompareResponse {
  const req = parseJsonBytes(bytes, CompareRequest, {
    codeFor,
    limits: [{ key: 'reference_embeddings', max: maxReferences, error: () => tooMany(maxReferences) }],
  });
  const given = req.reference_embeddings;
  if (given.length === 0) throw new ServiceError('EMPTY_REFERENCES', 'reference_embeddings is empty');
  if (given.length > maxReferences) throw tooMany(maxReferences);
  const model = req.model ?? pack.model;
  if (model !== pack.model) {
    throw new ServiceError(
      'MODEL_MISMATCH',
      `query_embedding is of model ${model}, not ${pack.model}: its distances mean nothing against these thresholds`,
      { field: 'model', expected: pack.model, got: model },
    );
  }
  const refs = given.filter((r) => (r.model ?? pack.model) === model);
  if (refs.length === 0) {
    throw new ServiceError(
      'MODEL_MISMATCH',
      `every reference embedding is of another model than ${model}; none was compared`,
      { field: 'reference_embeddings', expected: model },
    );
  }
  const dim = req.query_embedding.length;
  refs.forEach((r, i) => {
    if (r.embedding.length !== dim) {
      throw new ServiceError(
        'DIMENSION_MISMATCH',
        `reference_embeddings.${i} has ${r.embedding.length} values; query_embedding has ${dim}`,
        { field: `reference_embeddings.${i}.embedding`, expected: dim, got: r.embedding.length },
      );
    }
    if (req.distance_metric !== 'euclidean' && norm(r.embedding) === 0) {
      throw new ServiceError('INVALID_EMBEDDING', `reference_embeddings.${i} is all zeros`, {
        field: `reference_embeddings.${i}.embedding`,
      });
    }
  });
  if (req.distance_metric !== 'euclidean' && norm(req.query_embedding) === 0) {
    throw new ServiceError('INVALID_EMBEDDING', 'query_embedding is all zeros', {
      field: 'query_embedding',
    });
  }
  const threshold = req.threshold ?? pack.thresholds[req.distance_metric].balanced;
  const matches = rank(req.query_embedding, refs, req.distance_metric, req.top_k ?? DEFAULT_TOP_K);
  const best = matches[0]!; // refs is non-empty
  return {
    best_match: best,
    matches,
    metric: req.distance_metric,
    threshold,
    is_match: best.distance <= threshold,
    ...(refs.length < given.length ? { skipped_other_model: given.length - refs.length } : {}),
  };
}
