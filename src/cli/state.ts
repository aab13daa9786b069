/**
 * The resume file: which chunks (by Idempotency-Key) the service has accepted, under which job.
 * A re-run finds its chunks here and goes straight to polling; without the file it still ends
 * up with the same jobs (the service replays the keys), just after uploading the photos again.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

const Accepted = z.object({
  job_id: z.string(),
  server: z.string(),
  people: z.number().int(),
  accepted_at: z.string(),
});
export type AcceptedChunk = z.infer<typeof Accepted>;
const StateFile = z.object({ version: z.literal(1), chunks: z.record(z.string(), Accepted) });

export class RunState {
  private constructor(
    readonly path: string,
    private readonly chunks: Record<string, AcceptedChunk>,
  ) {}

  /** The state at `path`; a missing or unreadable file is an empty state (and a warning). */
  static async load(path: string, warn: (message: string) => void = () => undefined): Promise<RunState> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return new RunState(path, {});
    }
    try {
      return new RunState(path, StateFile.parse(JSON.parse(text)).chunks);
    } catch {
      warn(`ignoring ${path}: not a state file of this tool`);
      return new RunState(path, {});
    }
  }

  /** The job a chunk was accepted as on `server`, if it was. */
  get(key: string, server: string): AcceptedChunk | undefined {
    const entry = this.chunks[key];
    return entry?.server === server ? entry : undefined;
  }

  async set(key: string, entry: AcceptedChunk): Promise<void> {
    this.chunks[key] = entry;
    await this.save();
  }

  async delete(key: string): Promise<void> {
    delete this.chunks[key];
    await this.save();
  }

  /** Written to a temporary file and renamed, so an interrupted write leaves the old state. */
  private async save(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ version: 1, chunks: this.chunks }, null, 2)}\n`);
    await rename(tmp, this.path);
  }
}
