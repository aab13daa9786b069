/** The Redis Cluster rules the start-up check applies: the hash tag of a key, and what a cluster refuses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterConfigIssue, hashTag } from '../../src/shared/redis-client.js';

describe('Redis Cluster configuration', () => {
  it('finds the hash tag as Redis does: the first {, the first } after it, not empty', () => {
    assert.equal(hashTag('{shelia}:inference:1'), 'shelia');
    assert.equal(hashTag('a{b}c{d}'), 'b');
    assert.equal(hashTag('x{}y{z}'), undefined); // {} first: the whole key is hashed
    assert.equal(hashTag('{shelia'), undefined);
    assert.equal(hashTag('shelia'), undefined);
  });

  it('refuses a cluster prefix without a hash tag, and a database other than 0', () => {
    const cluster = { redisUrl: 'redis://10.0.0.1:7000', redisCluster: true };
    assert.equal(clusterConfigIssue({ ...cluster, keyPrefix: '{shelia}' }), undefined);
    assert.equal(clusterConfigIssue({ ...cluster, keyPrefix: 'site-a{shelia}' }), undefined);
    assert.match(
      clusterConfigIssue({ ...cluster, keyPrefix: 'shelia' }) ?? '',
      /^KEY_PREFIX: .*e\.g\. \{shelia\}/,
    );
    assert.match(clusterConfigIssue({ ...cluster, keyPrefix: '{}shelia' }) ?? '', /^KEY_PREFIX: /);
    assert.match(
      clusterConfigIssue({ ...cluster, redisUrl: 'redis://10.0.0.1:7000/2', keyPrefix: '{s}' }) ?? '',
      /^REDIS_URL: .*database 0/,
    );
    // One server: any prefix, any database.
    assert.equal(
      clusterConfigIssue({ redisUrl: 'redis://h/3', redisCluster: false, keyPrefix: 'shelia' }),
      undefined,
    );
  });
});
