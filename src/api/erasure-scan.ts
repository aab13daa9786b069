import type { Job, Queue } from 'bullmq';
import { ENROLL_ITEM_JOB, ENROLL_ITEMS_JOB, EnrollItemData, EnrollItemsData } from '../shared/jobs/index.js';
import { unavailableOnError } from './redis-errors.js';

/**
 * Queued jobs an erasure reads at a time. All at once, 10,000 queued items took 0.7-1.2 s in one
 * reply, which a larger backlog would push past the API's 2 s command timeout (a 503 erasure);
 * by ids then pages, 20,000 took 17-77 ms for the ids and at most 74 ms per page.
 */
const ERASURE_PAGE = 500;

/** A queued enrollment item an erasure removed: its photos are to delete, its outcome ERASED. */
export interface RemovedItem {
  job_id: string;
  index: number;
  photos: string[];
}

/**
 * What an erasure (DELETE /users/:id) asks of the queue of enrollment items: remove the user's
 * items not yet started, and whether one is running now.
 */
export class ErasureScan {
  constructor(private readonly queue: Queue) {}

  /**
   * Removes not-yet-started enrollment items of a user. Returns what was removed so the caller
   * can delete their photos and record the items as erased. An item already running is stopped
   * by the erasure tombstone the worker checks instead. A queued job of several people that
   * holds others too stays queued: the user's items in it are returned all the same (their
   * photos are deleted and they are recorded ERASED now); when it runs, the worker finds the
   * tombstone (or the photos gone, then the tombstone) and records them ERASED again.
   */
  async removeQueuedEnrollments(userId: string): Promise<RemovedItem[]> {
    const queue = this.queue;
    const ids = await unavailableOnError(() =>
      queue.getRanges(['waiting', 'prioritized', 'delayed', 'waiting-children'], 0, -1),
    );
    const removed: RemovedItem[] = [];
    for (let i = 0; i < ids.length; i += ERASURE_PAGE) {
      const page = ids.slice(i, i + ERASURE_PAGE);
      const jobs = await unavailableOnError(() => Promise.all(page.map((id) => queue.getJob(id))));
      removed.push(...(await removeUsersJobs(jobs, userId)));
    }
    return removed;
  }

  /** Whether an enrollment item of this user is running now (its store writes need the tombstone). */
  async enrollmentInFlight(userId: string): Promise<boolean> {
    // Active jobs are at most workers x concurrency: one read of them all.
    const active = await unavailableOnError(() => this.queue.getActive());
    return active.some((job) => peopleOf(job).some((p) => p.user_id === userId));
  }
}

/** The people an enrollment job holds: one (enroll-item) or several (enroll-items); none for other jobs. */
function peopleOf(job: Job): EnrollItemData[] {
  if (job.name === ENROLL_ITEM_JOB) {
    const one = EnrollItemData.safeParse(job.data);
    return one.success ? [one.data] : [];
  }
  if (job.name === ENROLL_ITEMS_JOB) {
    const several = EnrollItemsData.safeParse(job.data);
    return several.success ? several.data.people : [];
  }
  return [];
}

async function removeUsersJobs(jobs: (Job | undefined)[], userId: string): Promise<RemovedItem[]> {
  const removed: RemovedItem[] = [];
  for (const job of jobs) {
    if (!job) continue; // taken and finished since the ids were read
    const people = peopleOf(job);
    const mine = people.filter((p) => p.user_id === userId);
    if (mine.length === 0) continue;
    // A job of this user's people alone leaves the queue; one shared with others stays queued.
    if (mine.length === people.length) {
      const ok = await job.remove().then(
        () => true,
        () => false, // it started meanwhile: the tombstone handles it
      );
      if (!ok) continue;
    }
    for (const p of mine) removed.push({ job_id: p.job_id, index: p.index, photos: p.photos });
  }
  return removed;
}
