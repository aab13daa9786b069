/**
 * deploy/: the Grafana dashboard and the Prometheus alert rules name only metrics that a real
 * Shelia exports (a /metrics scrape of a running API + worker), the rules pass
 * `promtool check rules` when promtool is installed (Debian: `apt-get install prometheus`), and
 * docker-compose.yml's `monitoring` profile mounts these very files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/faces.js';
import { startService, type TestService } from '../helpers/service.js';

const ALERTS = join(repoRoot, 'deploy/prometheus/alerts.yml');
const DASHBOARD = join(repoRoot, 'deploy/grafana/shelia.json');
/** Series Prometheus itself makes for every target. */
const BUILT_IN = new Set(['up']);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}
interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: { expr: string }[];
}

const rules = () =>
  (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const panels = () => (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels;

/** Metric names in a PromQL expression: shelia_* (histogram series folded to their metric) and built-ins. */
function metricNames(expr: string): string[] {
  const shelia = [...expr.matchAll(/\bshelia_[a-z0-9_]+/g)].map((m) =>
    m[0].replace(/_(bucket|sum|count)$/, ''),
  );
  const builtIn = [...BUILT_IN].filter((n) => new RegExp(`\\b${n}\\{`).test(expr));
  return [...shelia, ...builtIn];
}

describe('monitoring: dashboard and alerts over real metrics', () => {
  let svc: TestService;
  let exported: Set<string>;

  before(async () => {
    svc = await startService();
    // One request so the request metrics have a series (their names are there either way).
    await svc.app.request('/api/v1/health');
    const res = await svc.app.request('/metrics');
    assert.equal(res.status, 200);
    const text = await res.text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
  });
  after(async () => {
    await svc.stop();
  });

  it('the scrape has the metrics the rules are about', () => {
    for (const name of [
      'shelia_queue_jobs',
      'shelia_items_total',
      'shelia_workers_alive',
      'shelia_webhook_deliveries_total',
      'shelia_gallery_templates',
    ]) {
      assert.ok(exported.has(name), `${name} in /metrics`);
    }
  });

  it('alerts.yml is valid YAML with complete rules naming only exported metrics', () => {
    const all = rules();
    assert.ok(all.length >= 6, 'backlog, workers, failures, webhooks, errors, latency');
    for (const r of all) {
      assert.ok(r.alert && r.expr && r.labels.severity && r.annotations.summary, JSON.stringify(r));
      const names = metricNames(r.expr);
      assert.ok(names.length > 0, `${r.alert} names a metric`);
      for (const n of names)
        assert.ok(BUILT_IN.has(n) || exported.has(n), `${r.alert}: ${n} is not exported`);
    }
    assert.deepEqual(new Set(all.map((r) => r.alert)).size, all.length, 'alert names are unique');
  });

  it('shelia.json panels query only exported metrics, on the provisioned datasource', () => {
    const all = panels();
    assert.ok(all.length >= 10);
    assert.equal(new Set(all.map((p) => p.id)).size, all.length, 'panel ids are unique');
    for (const p of all) {
      assert.equal(p.datasource.uid, 'prometheus', p.title);
      assert.ok(p.targets.length > 0, p.title);
      for (const t of p.targets)
        for (const n of metricNames(t.expr)) assert.ok(exported.has(n), `${p.title}: ${n} is not exported`);
    }
    const provisioned = parse(
      readFileSync(join(repoRoot, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { uid: string }[] };
    assert.equal(provisioned.datasources[0]?.uid, 'prometheus');
  });

  it('promtool check rules passes (when promtool is installed)', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v promtool']);
    if (which.status !== 0) {
      t.skip('promtool is not installed (apt-get install -y prometheus)');
      return;
    }
    const run = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${rules().length} rules found`));
  });

  it('docker-compose.yml: prometheus and grafana in the monitoring profile, mounting these files', () => {
    const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { profiles?: string[]; volumes?: string[] }>;
    };
    for (const name of ['prometheus', 'grafana']) {
      const s = compose.services[name];
      assert.ok(s, name);
      assert.deepEqual(s.profiles, ['monitoring']);
      for (const v of s.volumes ?? []) {
        const host = v.split(':')[0] as string;
        if (host.startsWith('./')) assert.ok(existsSync(join(repoRoot, host)), `${name} mounts ${host}`);
      }
    }
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []);
    for (const f of ['./deploy/prometheus/alerts.yml', './deploy/grafana/shelia.json'])
      assert.ok(
        mounts.some((m) => m.startsWith(`${f}:`)),
        `${f} is mounted`,
      );
    for (const [name, s] of Object.entries(compose.services))
      if (!['prometheus', 'grafana'].includes(name))
        assert.equal(s.profiles, undefined, `${name} always runs`);
  });
});
