// sharp must be loaded on the main thread before any worker thread loads it (libvips keeps
// process-wide state; loading it first in a thread that later exits has crashed processes).
import 'sharp';
import { Piscina, queueOptionsSymbol, type TaskQueue } from 'piscina';
import type { AnalysisResult } from '../../shared/face-types.js';
import { decodeError, ServiceError } from '../../shared/errors.js';
import { verifyModels, type ModelManifest } from '../../shared/model-manifest.js';
import type { AnalyseOptions } from '../pipeline/face-pipeline.js';
import type { AnalyseOutcome, AnalyseTask, PoolWorkerData } from './task-types.js';

/**
 * Which tasks a free thread takes first: `sync` (a caller waits: /embed, /identify, /sightings)
 * before `batch` (items). When sync jobs and items shared one BullMQ queue, BullMQ's priority
 * did this at the job level; with a queue each (the worker runs both with WORKER_CONCURRENCY),
 * it is done here, where the two meet.
 */
export type Lane = 'sync' | 'batch';

/** What a processor uses of the pool: the pipeline, on one lane. */
/** How the photo's bytes reach the thread: given up (`transfer`: detached, not copied) or copied. */
export interface HandOver {
  handOver?: 'copy' | 'transfer';
}

export interface PoolLane {
  analyse(bytes: Uint8Array, options: AnalyseOptions, how?: HandOver): Promise<AnalysisResult>;
}

type Task = Parameters<TaskQueue['push']>[0];
const laneOf = (task: Task): Lane =>
  (task[queueOptionsSymbol] as { lane?: Lane } | null)?.lane === 'sync' ? 'sync' : 'batch';

/** Piscina's task queue in two lanes, sync first; first in first out within a lane. */
class LaneQueue implements TaskQueue {
  private readonly lanes: Record<Lane, Task[]> = { sync: [], batch: [] };

  get size(): number {
    return this.lanes.sync.length + this.lanes.batch.length;
  }

  push(task: Task): void {
    this.lanes[laneOf(task)].push(task);
  }

  unshift(task: Task): void {
    this.lanes[laneOf(task)].unshift(task);
  }

  shift(): Task | null {
    return this.lanes.sync.shift() ?? this.lanes.batch.shift() ?? null;
  }

  remove(task: Task): void {
    const lane = this.lanes[laneOf(task)];
    const i = lane.indexOf(task);
    if (i >= 0) lane.splice(i, 1);
  }
}

export interface InferencePoolOptions {
  modelsDir: string;
  /** Threads; default = CPU cores. Each thread holds its own ONNX sessions (~40 MB). */
  size: number;
}

/** The face pipeline behind a thread pool, so the caller's event loop (BullMQ locks) stays free. */
export class InferencePool {
  private readonly pool: Piscina<AnalyseTask, AnalyseOutcome>;
  /** Verified (sha256) before any thread starts. */
  readonly manifest: ModelManifest;

  constructor(readonly options: InferencePoolOptions) {
    this.manifest = verifyModels(options.modelsDir);
    const workerData: PoolWorkerData = { modelsDir: options.modelsDir, manifest: this.manifest };
    this.pool = new Piscina({
      filename: new URL('./task.js', import.meta.url).href,
      minThreads: options.size,
      maxThreads: options.size,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
      taskQueue: new LaneQueue(),
    });
  }

  /** The pool as seen by the jobs of one lane (the worker gives sync jobs the `sync` lane). */
  lane(lane: Lane): PoolLane {
    return { analyse: (bytes, options, how = {}) => this.analyse(bytes, options, { ...how, lane }) };
  }

  /**
   * Runs the pipeline on a pool thread. With `handOver: 'transfer'` the caller gives `bytes`
   * up (its buffer is detached, nothing copied; a view of a larger buffer is still copied);
   * with 'copy' (the default) the thread gets a copy and the caller keeps its bytes.
   */
  async analyse(
    bytes: Uint8Array,
    options: AnalyseOptions,
    { handOver = 'copy', lane = 'batch' }: HandOver & { lane?: Lane } = {},
  ): Promise<AnalysisResult> {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const own = handOver === 'transfer' && whole ? bytes : new Uint8Array(bytes);
    // The lane rides on the task under Piscina's queue-options symbol: read by LaneQueue, not
    // sent to the thread (a structured clone leaves symbol-keyed properties out).
    const task = { bytes: own, options, [queueOptionsSymbol]: { lane } };
    const outcome = await this.pool.run(task, { transferList: [own.buffer as ArrayBuffer] });
    if (outcome.ok) return outcome.result;
    throw decodeError(outcome.error) ?? new ServiceError('INTERNAL_ERROR', 'inference failed');
  }

  /** Loads every thread's sessions so the first real request does not pay for it. */
  async warmUp(sample: Uint8Array, options: AnalyseOptions): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size * 2 }, () => this.analyse(sample, options)));
  }

  get size(): number {
    return this.options.size;
  }

  get utilization(): number {
    return this.pool.utilization;
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
