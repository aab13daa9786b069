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
import { loadManifest, verifyModels, type ModelManifest } from '../../src/shared/model-manifest.js';
import { loadPack } from '../../src/worker/pipeline/sessions.js';
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

  /** A copy of the pack whose manifest `edit` changed. */
  const withManifest = (edit: (m: ModelManifest) => void) => {
    const dir = freshCopy();
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
    edit(m);
    writeFileSync(path, JSON.stringify(m));
    return dir;
  };

  void it('reads every figure the pack runs with from the manifest', () => {
    const m = loadManifest(modelsDir);
    assert.equal(m.pack, 'ultraface-ibug68');
    assert.deepEqual(m.models.feature.input.shape, [1, 3, 112, 112]);
    assert.equal(m.models.feature.input.colour_order, 'BGR');
    assert.deepEqual([m.models.detect.input.mean, m.models.detect.input.std], [127, 128]);
    assert.deepEqual(m.thresholds.cosine, { high_security: 0.59, balanced: 0.665, convenience: 0.75 });
    assert.equal(m.quantisation.int8_range, 0.35);
  });

  void it('refuses a manifest whose embedding_dim is not the embedder output, naming the field', () => {
    const dir = withManifest((m) => (m.embedding_dim = 128));
    const err = integrityError(dir);
    assert.match(err.message, /embedding_dim/);
  });

  void it('refuses a pack whose code this build lacks, and an input name the graph does not have', async () => {
    const unknown = withManifest((m) => (m.pack = 'no-such-pack'));
    await assert.rejects(loadPack(unknown), (err: unknown) => {
      assert.ok(err instanceof ServiceError && err.code === 'MODEL_INTEGRITY');
      assert.match(err.message, /no-such-pack.*ultraface-ibug68/);
      return true;
    });
    const renamed = withManifest((m) => (m.models.feature.input.name = 'data'));
    await assert.rejects(loadPack(renamed), (err: unknown) => {
      assert.ok(err instanceof ServiceError && err.code === 'MODEL_INTEGRITY');
      assert.match(err.message, /fr_feature\.onnx has no tensor data/);
      return true;
    });
  });
});
