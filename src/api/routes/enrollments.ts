import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { csvRecords } from '../../shared/csv.js';
import { ServiceError } from '../../shared/errors.js';
import {
  ENROLL_BATCH_JOB,
  ENROLL_ITEM_JOB,
  ENROLL_ITEMS_JOB,
  type EnrollItemData,
} from '../../shared/jobs/index.js';
import {
  EnrollmentItemFields,
  EnrollmentRequest,
  MAX_PHOTOS_PER_PERSON,
  type EnrollmentItem,
} from '../../shared/schemas.js';
import {
  acceptBatchOnce,
  batchLimit,
  batchTooLarge,
  photoOrError,
  type IntakeItem,
} from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import { prescanJson, type ArrayLimit } from '../json-prescan.js';
import type { ApiDeps } from '../deps.js';
import { sha256 } from '../idempotency.js';
import { isMultipart, readMultipart } from '../multipart.js';
import { jsonBody, routeApp, untyped } from '../docs/openapi-kit.js';
import { BATCH_RESPONSES, IDEMPOTENCY_KEY, MULTIPART_MANIFEST } from '../docs/batches.js';
import { parseWith, readBody, readJson } from '../validate.js';

interface ParsedEnrollment {
  items: { item: Omit<EnrollmentItem, 'image' | 'images'>; photos: (Buffer | ServiceError)[] }[];
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  mode: 'add' | 'replace';
  bodySha256: string;
}

/**
 * POST /api/v1/enrollments — a batch of people to enroll, as JSON (base64 photos) or
 * multipart (a CSV or JSON manifest naming uploaded files). 202 with the job id.
 */
export function enrollmentRoutes(deps: ApiDeps) {
  const app = routeApp();
  const route = createRoute({
    method: 'post',
    path: '/enrollments',
    operationId: 'enrollBatch',
    tags: ['Enrollment'],
    summary: 'Enroll a batch of people',
    description:
      'JSON with base64 photos, or multipart/form-data: a `manifest` part (CSV with columns ' +
      'user_id,name,file[,group], one row per photo, or JSON {items: [{user_id, name, files, group?, ' +
      'metadata?}]}), the photo files matched by file name, and optional `webhook_url` and `mode` ' +
      'fields. Answers 202 with the job id; progress at status_url. An Idempotency-Key replays the ' +
      'first answer for the same body.',
    middleware: [limitBody(deps.config.maxBatchBodyBytes)] as const,
    request: {
      headers: IDEMPOTENCY_KEY,
      body: jsonBody(
        app,
        'EnrollmentRequest',
        EnrollmentRequest,
        {
          items: [
            { user_id: 'emp-1042', name: 'Tony Stewart', image: 'iVBORw0KGgo…', group: 'site-a' },
            { user_id: 'emp-2001', name: 'Ana Lima', images: ['/9j/4AAQ…', '/9j/4AAQ…'] },
          ],
          webhook_url: 'https://hr.example.org/hooks/shelia',
          options: { mode: 'add' },
        },
        MULTIPART_MANIFEST(['webhook_url', 'mode']),
      ),
    },
    responses: BATCH_RESPONSES(),
  });
  app.openapi(route, async (c) => {
    const req = isMultipart(c) ? await fromMultipart(c, deps) : await fromJson(c, deps);
    const res = await acceptBatchOnce(c, deps, req.bodySha256, () => {
      const accepted_at = new Date().toISOString();
      const items: IntakeItem<typeof ENROLL_ITEM_JOB>[] = req.items.map(({ item, photos }) => ({
        ref: item.user_id,
        photos,
        data: (job_id, index, photoKeys, refused): EnrollItemData => ({
          job_id,
          index,
          user_id: item.user_id,
          name: item.name,
          group: item.group ?? null,
          metadata: item.metadata ?? {},
          photos: photoKeys,
          ...(refused.length
            ? {
                refused_photos: refused.map(({ index: n, error }) => ({
                  index: n,
                  error_code: error.code,
                  error: error.message,
                  details: error.details,
                })),
              }
            : {}),
          mode: req.mode,
          accepted_at,
        }),
      }));
      return {
        type: 'enrollment',
        parent: ENROLL_BATCH_JOB,
        child: ENROLL_ITEM_JOB,
        items,
        // Several people a queue job (ENROLL_PEOPLE_PER_JOB): a job's own cost is shared.
        ...(deps.config.enrollPeoplePerJob > 1
          ? {
              pack: {
                name: ENROLL_ITEMS_JOB,
                size: deps.config.enrollPeoplePerJob,
                data: (job_id: string, people: EnrollItemData[]) => ({ job_id, people }),
              },
            }
          : {}),
        webhookUrl: req.webhookUrl,
        webhookSecret: req.webhookSecret,
      };
    });
    return untyped(res);
  });
  return app;
}

async function fromJson(c: Context, deps: ApiDeps): Promise<ParsedEnrollment> {
  const raw = await readBody(c, ['json', 'multipart']);
  const req = await readJson(c, EnrollmentRequest, { bytes: raw, limits: [batchLimit(deps, 'items')] });
  return {
    items: req.items.map(({ image, images, ...item }, i) => ({
      item,
      photos: (images ?? [image ?? '']).map((p, n) =>
        photoOrError(p, `items.${i}.image${images ? `s.${n}` : ''}`),
      ),
    })),
    webhookUrl: req.webhook_url,
    webhookSecret: req.webhook_secret,
    mode: req.options.mode,
    bodySha256: sha256(raw),
  };
}

const ManifestJson = z.object({
  items: z.array(
    EnrollmentItemFields.omit({ image: true, images: true }).extend({
      files: z.array(z.string()).min(1).max(MAX_PHOTOS_PER_PERSON),
    }),
  ),
});

/**
 * Multipart: a `manifest` part (CSV with columns user_id,name,file[,group] — one row per photo —
 * or JSON {items: [{user_id, name, files: [...], group?, metadata?}]}), the photo files (matched
 * by file name), and optional `webhook_url` and `mode` fields.
 */
async function fromMultipart(c: Context, deps: ApiDeps): Promise<ParsedEnrollment> {
  const upload = await readMultipart(c);
  const { manifest, fields } = upload;
  const max = deps.config.maxBatchItems;
  // Counted and checked before any file is read or any entry validated.
  const entries = manifest.trimStart().startsWith('{')
    ? jsonManifest(manifest, batchLimit(deps, 'items'))
    : csvManifest(manifest, max);
  const items: ParsedEnrollment['items'] = [];
  for (const [i, { files: names, ...item }] of entries.entries()) {
    const photos: (Buffer | ServiceError)[] = [];
    for (const name of names) photos.push(await upload.file(name, `items.${i}`));
    items.push({ item, photos });
  }
  return {
    items,
    webhookUrl: fields.webhook_url,
    webhookSecret: fields.webhook_secret,
    mode: parseWith(MultipartMode, fields).mode,
    bodySha256: upload.digest(),
  };
}

/** `mode` as in JSON's options.mode; anything else ("REPLACE", "") is refused, not read as add. */
const MultipartMode = z.object({ mode: EnrollmentRequest.shape.options.unwrap().shape.mode });

type ManifestEntry = z.infer<typeof ManifestJson>['items'][number];

function jsonManifest(text: string, limit: ArrayLimit): ManifestEntry[] {
  prescanJson(Buffer.from(text), [limit]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ServiceError('INVALID_REQUEST', 'manifest is not valid JSON', { field: 'manifest' });
  }
  return parseWith(ManifestJson, parsed, 'manifest').items;
}

function csvManifest(text: string, maxItems: number): ManifestEntry[] {
  const byUser = new Map<string, ManifestEntry>();
  const columns = {
    required: [['user_id'], ['name'], ['file', 'path']],
    expected: 'user_id,name,file[,group]',
  };
  for (const [r, row] of csvRecords(text, { ...columns, field: 'manifest' }).entries()) {
    const file = row.file ?? row.path ?? '';
    const prior = byUser.get(row.user_id ?? '');
    if (prior) {
      if (prior.files.length >= MAX_PHOTOS_PER_PERSON) {
        throw new ServiceError(
          'INVALID_REQUEST',
          `manifest row ${r + 1}: user ${prior.user_id} has more than ${MAX_PHOTOS_PER_PERSON} photos`,
          { field: 'manifest', max_photos_per_person: MAX_PHOTOS_PER_PERSON },
        );
      }
      prior.files.push(file);
    } else {
      if (byUser.size >= maxItems) throw batchTooLarge(maxItems);
      const entry = {
        user_id: row.user_id,
        name: row.name,
        files: [file],
        ...(row.group ? { group: row.group } : {}),
      };
      byUser.set(
        row.user_id ?? '',
        parseWith(ManifestJson.shape.items.element, entry, `manifest row ${byUser.size + 1}`),
      );
    }
  }
  if (byUser.size === 0)
    throw new ServiceError('INVALID_REQUEST', 'the manifest lists no photos', { field: 'manifest' });
  return [...byUser.values()];
}
