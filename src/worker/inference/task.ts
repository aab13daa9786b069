/**
 * Piscina task module: runs in each pool thread. The pack (its sessions) is built once per
 * thread, on the first task, and reused for every later one.
 */
import { workerData } from 'node:worker_threads';
import { encodeError, ServiceError } from '../../shared/errors.js';
import { analyse } from '../pipeline/face-pipeline.js';
import type { ModelPack } from '../pipeline/seams.js';
import { loadPack } from '../pipeline/sessions.js';
import type { AnalyseOutcome, AnalyseTask, PoolWorkerData } from './task-types.js';

const { modelsDir, manifest } = workerData as PoolWorkerData;
let pack: Promise<ModelPack> | undefined;

export default async function run(task: AnalyseTask): Promise<AnalyseOutcome> {
  pack ??= loadPack(modelsDir, manifest); // the pool verified the files before starting us
  try {
    return { ok: true, result: await analyse(await pack, task.bytes, task.options) };
  } catch (err) {
    if (err instanceof ServiceError) return { ok: false, error: encodeError(err) };
    throw err;
  }
}
