import { bodyLimit } from 'hono/body-limit';
import { ServiceError } from '../shared/errors.js';

/** Hono's body limit (checked while reading, before parsing) with our error shape. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ServiceError('PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBytes} bytes`, {
        max_bytes: maxBytes,
      });
    },
  });
}
