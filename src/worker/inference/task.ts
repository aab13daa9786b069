/**
 * Piscina task module: runs in each pool thread. Sessions are created once per thread, on the
 * first task, and reused for every later one.
 */
import { workerData } from 'node:worker_threads';
import { encodeError, ServiceError } from '../../shared/errors.js';
import { analyse } from '../pipeline/face-pipeline.js';
import { loadSessions, type ModelSessions } from '../pipeline/sessions.js';
import type { AnalyseOutcome, AnalyseTask, PoolWorkerData } from './task-types.js';

const { modelsDir } = workerData as PoolWorkerData;
let sessions: Promise<ModelSessions> | undefined;

export default async function run(task: AnalyseTask): Promise<AnalyseOutcome> {
  sessions ??= loadSessions(modelsDir, false); // the pool verified the files before starting us
  try {
    return { ok: true, result: await analyse(await sessions, task.bytes, task.options) };
  } catch (err) {
    if (err instanceof ServiceError) return { ok: false, error: encodeError(err) };
    throw err;
  }
}
