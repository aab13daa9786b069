import { resolve } from 'node:path';
import { StartupError } from './startup.js';
import { envSchema, readTree, withDefaults, type ConfigOf } from './config/setting.js';
import { DEFAULT_REDIS_URL, SETTINGS } from './config/settings.js';
import { clusterConfigIssue } from './redis-client.js';

export { DEFAULT_REDIS_URL };
export const VERSION = '0.1.0';

/**
 * The settings, typed: one property per entry of `SETTINGS` (src/shared/config/settings.ts,
 * where each is declared once with its variable, default, validation and README line), plus
 * the values derived from them below.
 */
export type Config = Omit<ConfigOf<typeof SETTINGS>, 'gallerySnapshotDir'> &
  Readonly<{
    /** Where the gallery snapshot lives; null = snapshots off. */
    gallerySnapshotDir: string | null;
    /** REDIS_URL unset or the default: `npm start` may run a local redis-server there. */
    redisUrlDefaulted: boolean;
    version: string;
  }>;

const Env = envSchema(SETTINGS);

/** Parses and validates the environment; throws one error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(withDefaults(SETTINGS, env));
  if (!parsed.success) {
    // One line (start-up errors are printed without a stack): every bad variable, then where to look.
    const bad = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StartupError(`invalid configuration: ${bad.join('; ')} (see the settings table in README.md)`);
  }
  const read = readTree(SETTINGS, parsed.data);
  const clusterIssue = clusterConfigIssue(read);
  if (clusterIssue)
    throw new StartupError(`invalid configuration: ${clusterIssue} (see Redis Cluster in README.md)`);
  return Object.freeze({
    ...read,
    redisUrlDefaulted: read.redisUrl.replace(/\/$/, '') === DEFAULT_REDIS_URL,
    // 0 = 2 x pool size, so a pool thread never idles between jobs.
    workerConcurrency: read.workerConcurrency || 2 * read.poolSize,
    gallerySnapshotDir:
      read.gallerySnapshotDir === 'off' ? null : read.gallerySnapshotDir || resolve(read.dataDir, 'gallery'),
    version: VERSION,
  });
}
