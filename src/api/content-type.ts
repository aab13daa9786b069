import type { Context } from 'hono';
import { ServiceError } from '../shared/errors.js';

/** What a route reads its body as; a JSON route reads `application/json` and `*+json`. */
export type BodyType = 'json' | 'multipart';

const NAMES: Record<BodyType, string> = { json: 'application/json', multipart: 'multipart/form-data' };

function matches(type: BodyType, mediaType: string): boolean {
  if (type === 'multipart') return mediaType === 'multipart/form-data';
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  );
}

/**
 * 415 for a body sent as something the route does not read (text/plain from a bare fetch, a form
 * from `curl -d` without `-H`): read as JSON anyway, it failed later as a confusing 400 on a
 * field. Checked on the header, before the body is read. A request without Content-Type is read
 * as JSON, as before:
 * clients that omit it keep working.
 */
export function requireBodyType(c: Context, accepts: readonly BodyType[] = ['json']): void {
  const header = c.req.header('content-type');
  if (header === undefined || header.trim() === '') return;
  const mediaType = header.split(';', 1)[0]!.trim().toLowerCase();
  if (accepts.some((t) => matches(t, mediaType))) return;
  const wanted = accepts.map((t) => NAMES[t]).join(' or ');
  throw new ServiceError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${mediaType} is not read here: send ${wanted}`,
    {
      field: 'Content-Type',
    },
  );
}
