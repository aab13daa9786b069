/**
 * Which MongoDB driver errors mean "the database cannot be reached now" (503, retry later) and
 * which are bugs or bad requests (500 / 4xx): judged on the driver's own error classes, built as
 * the driver builds them, so a renamed or subclassed error is caught here and not by a user.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import {
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoServerClosedError,
  MongoNotConnectedError,
} from 'mongodb';
import { isStoreUnavailable } from '../../../src/shared/store/unavailable.js';

// The pool's errors are not exported by the driver's index; they are what an operation gets
// when it checks out a connection from a pool cleared after the server went away.
const pool = createRequire(import.meta.url)('mongodb/lib/cmap/errors.js') as {
  PoolClearedError: new (pool: { address: string }) => Error;
  PoolClearedOnNetworkError: new (pool: { address: string }) => Error;
  PoolClosedError: new (pool: { address: string }) => Error;
};

describe('isStoreUnavailable', () => {
  it('is true for every driver error of a server that is down, unreachable or going away', () => {
    const down = [
      new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:1'),
      new MongoNetworkTimeoutError('timed out'),
      new pool.PoolClearedError({ address: '127.0.0.1:1' }),
      new pool.PoolClearedOnNetworkError({ address: '127.0.0.1:1' }),
      new pool.PoolClosedError({ address: '127.0.0.1:1' }),
      new MongoTopologyClosedError(),
      new MongoServerClosedError(),
      new MongoNotConnectedError('not connected'),
      // A server shutting down or stepping down answers with these codes.
      new MongoServerError({ message: 'shutdown in progress', code: 91 }),
      new MongoServerError({ message: 'interrupted at shutdown', code: 11600 }),
      new MongoServerError({ message: 'not primary', code: 10107 }),
    ];
    for (const err of down) assert.equal(isStoreUnavailable(err), true, `${err.name}: ${err.message}`);
    assert.equal(isStoreUnavailable(new Error('wrapped', { cause: down[2] })), true, 'along the cause chain');
  });

  it('is false for bugs and bad requests', () => {
    for (const err of [
      new Error('boom'),
      new MongoServerError({ message: 'duplicate key', code: 11000 }),
      new MongoServerError({ message: 'bad value', code: 2 }),
      new TypeError('x is undefined'),
    ])
      assert.equal(isStoreUnavailable(err), false, `${err.name}: ${err.message}`);
  });

  it('takes a server selection timeout for one', () => {
    const err = new MongoServerSelectionError('Server selection timed out after 1500 ms', {
      type: 'Unknown',
      servers: new Map(),
      stale: false,
      compatible: true,
      heartbeatFrequencyMS: 10000,
      localThresholdMS: 15,
      setName: null,
      maxElectionId: null,
      maxSetVersion: null,
      commonWireVersion: 0,
      logicalSessionTimeoutMinutes: null,
    } as unknown as ConstructorParameters<typeof MongoServerSelectionError>[1]);
    assert.equal(isStoreUnavailable(err), true);
  });
});
