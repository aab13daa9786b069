// sharp must be loaded on the main thread before any worker thread loads it (libvips keeps
// process-wide state; loading it first in a thread that later exits has crashed processes).
import 'sharp';
import { Piscina } from 'piscina';
import type { AnalysisResult } from '../../shared/face-types.js';
import { decodeError, ServiceError } from '../../shared/errors.js';
import { verifyModels, type ModelManifest } from '../../shared/model-manifest.js';
import type { AnalyseOptions } from '../pipeline/face-pipeline.js';
import type { AnalyseOutcome, AnalyseTask, PoolWorkerData } from './task-types.js';

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
    });
  }

  /**
   * Runs the pipeline on a pool thread. With `handOver: 'transfer'` the caller gives `bytes`
   * up (its buffer is detached, nothing copied; a view of a larger buffer is still copied);
   * with 'copy' (the default) the thread gets a copy and the caller keeps its bytes.
   */
  async analyse(
    bytes: Uint8Array,
    options: AnalyseOptions,
    { handOver = 'copy' }: { handOver?: 'copy' | 'transfer' } = {},
  ): Promise<AnalysisResult> {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const own = handOver === 'transfer' && whole ? bytes : new Uint8Array(bytes);
    const outcome = await this.pool.run(
      { bytes: own, options },
      { transferList: [own.buffer as ArrayBuffer] },
    );
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
