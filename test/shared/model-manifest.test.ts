import assert from 'node:assert/strict';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServiceError } from '../../src/shared/errors.js';
import { verifyModels } from '../../src/shared/model-manifest.js';
import { InferencePool } from '../../src/worker/inference/pool.js';
import { modelsDir } from '../helpers/faces.js';

function integrityError(dir: string): ServiceError {
  try {
    verifyModels(dir);
  } catch (err) {
    assert.ok(err instanceof ServiceError, String(err));
    assert.equal(err.code, 'MODEL_INTEGRITY');
    return err;
  }
  assert.fail(`verifyModels(${dir}) passed`);
}

void describe('verifyModels', () => {
  let tmp: string;
  let copy = 0;
  const freshCopy = () => {
    const dir = join(tmp, `models-${copy++}`);
    // dereference: if models/ is a symlink (e.g. to a shared cache), copy files, not the link,
    // and check every file is really under tmp before the tests below damage it.
    cpSync(modelsDir, dir, { recursive: true, dereference: true });
    for (const f of readdirSync(dir)) assert.ok(realpathSync(join(dir, f)).startsWith(realpathSync(tmp)));
    return dir;
  };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'shelia-models-'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  void it('passes on the shipped models and returns the manifest', () => {
    const manifest = verifyModels(modelsDir);
    assert.equal(manifest.embedding_dim, 512);
    assert.equal(manifest.models.landmark.file, 'fr_landmark.onnx');
  });

  void it('throws MODEL_INTEGRITY naming fr_landmark.onnx when one byte of it is flipped', () => {
    const dir = freshCopy();
    const path = join(dir, 'fr_landmark.onnx');
    const bytes = readFileSync(path);
    const i = bytes.length >> 1;
    bytes[i] = (bytes[i] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const err = integrityError(dir);
    assert.match(err.message, /fr_landmark\.onnx/);
    assert.equal(err.details.file, 'fr_landmark.onnx');
    assert.doesNotMatch(err.message, /fr_detect|fr_feature/);
  });

  void it('throws MODEL_INTEGRITY naming the file when a model is missing', () => {
    const dir = freshCopy();
    unlinkSync(join(dir, 'fr_feature.onnx'));
    const err = integrityError(dir);
    assert.match(err.message, /fr_feature\.onnx/);
    assert.match(err.message, /missing/);
    assert.equal(err.details.file, 'fr_feature.onnx');
  });

  void it('keeps the inference pool from starting on an altered model', () => {
    const dir = freshCopy();
    const path = join(dir, 'fr_detect.onnx');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    assert.throws(
      () => new InferencePool({ modelsDir: dir, size: 1 }),
      (err: unknown) =>
        err instanceof ServiceError &&
        err.code === 'MODEL_INTEGRITY' &&
        err.message.includes('fr_detect.onnx'),
    );
  });
});
