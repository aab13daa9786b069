import type { Config } from './config.js';
import { STRONG_FPIR_FACTOR } from './evidence.js';
import type { DecisionBasis } from './jobs/index.js';
import type { OpenSetModel } from './open-set.js';

export type DecisionKind = 'identify' | 'attendance' | 'duplicate';

/**
 * The loosest threshold each 1:N decision may use, whatever the target allows: tiny galleries
 * would otherwise get thresholds past the per-comparison ones (FPIR 1 % of a 1-person gallery
 * is FAR 1e-2, distance ~0.8). Identification keeps its old default (balanced, FAR 1e-3);
 * attendance and the duplicate gate never go past high-security (FAR 1e-4), their old defaults.
 */
const CAP: Record<DecisionKind, 'balanced' | 'high_security'> = {
  identify: 'balanced',
  attendance: 'high_security',
  duplicate: 'high_security',
};

const round4 = (v: number) => Math.round(v * 10000) / 10000;

/**
 * The threshold one 1:N decision is made with: the caller's, when given (a per-comparison
 * threshold, as /compare's), else the one meeting the configured target FPIR for the number
 * of templates the search compares against.
 */
export function decisionFor(
  deps: { config: Config; openSet: OpenSetModel },
  kind: DecisionKind,
  gallerySize: number,
  callerThreshold?: number | null,
): DecisionBasis {
  if (callerThreshold !== undefined && callerThreshold !== null) {
    return {
      basis: 'caller',
      threshold: callerThreshold,
      target_fpir: null,
      gallery_size: gallerySize,
      expected_fnir: null,
    };
  }
  const target = deps.config.targetFpir[kind];
  const d = deps.openSet.decide(target, gallerySize, deps.openSet.thresholds.cosine[CAP[kind]]);
  return {
    basis: 'open_set',
    threshold: d.threshold,
    target_fpir: target,
    gallery_size: gallerySize,
    expected_fnir: round4(d.expected_fnir),
  };
}

/**
 * The thresholds attendance evidence is graded with (src/shared/evidence.ts), never above the
 * one the sighting was decided with (a caller's included):
 * - confirm: two sightings at or under it confirm a record. The open-set threshold at the
 *   configured target, also when the caller's is looser;
 * - strong: one sighting at or under it confirms. The open-set threshold for a target FPIR
 *   STRONG_FPIR_FACTOR (10) times stricter: 0.546 at 50 people, 0.473 at 537, 0.429 at 2,300.
 *   Measured at 537 people on 1080p frames (faces 60-130 px): 130 of 142 genuine sightings
 *   were under 0.473 (134 under the decision's 0.544), the nearest of 230 strangers at 0.537.
 */
export function evidenceThresholds(
  deps: { config: Config; openSet: OpenSetModel },
  gallerySize: number,
  threshold: number,
): { confirm_threshold: number; strong_threshold: number } {
  const target = deps.config.targetFpir.attendance;
  const at = (fpir: number) =>
    deps.openSet.decide(fpir, gallerySize, deps.openSet.thresholds.cosine[CAP.attendance]).threshold;
  return {
    confirm_threshold: Math.min(threshold, at(target)),
    strong_threshold: Math.min(threshold, at(target / STRONG_FPIR_FACTOR)),
  };
}

/** Standard open-set operating points (NIST FRTE reports FNIR at these FPIRs). */
const REPORTED_FPIRS = [0.1, 0.01, 0.001];

/**
 * What /api/v1/models and /api/v1/calibration publish for a gallery of `gallerySize` templates:
 * the threshold each 1:N decision uses now (at its configured target) and, for the standard
 * targets, the threshold and the FNIR it is expected to cost.
 */
export function openSetSummary(deps: { config: Config; openSet: OpenSetModel }, gallerySize: number) {
  const { tail, table } = deps.openSet;
  return {
    gallery_size: gallerySize,
    decisions: {
      identify: decisionFor(deps, 'identify', gallerySize),
      attendance: decisionFor(deps, 'attendance', gallerySize),
      duplicate: decisionFor(deps, 'duplicate', gallerySize),
    },
    at_target_fpir: REPORTED_FPIRS.map((target) => {
      const d = deps.openSet.decide(target, gallerySize, 2);
      return {
        target_fpir: target,
        threshold: d.threshold,
        expected_fnir: round4(d.expected_fnir),
        far_per_comparison: Number(d.far.toPrecision(3)),
        extrapolated: d.extrapolated,
      };
    }),
    model: {
      source: table.source,
      impostor_pairs: table.impostor_pairs,
      genuine_pairs: table.genuine_pairs,
      measured_far_down_to: Number(tail.lowest_measured_far.toPrecision(3)),
      measured_from_distance: tail.measured_from,
      tail: 'log10 FAR = intercept + slope * distance below measured_from (fitted on the measured rates <= 1e-3)',
      tail_slope: round4(tail.slope),
      notes:
        'FPIR(t, N) = 1 - (1 - FAR(t))^N with N the templates searched. Below the measured range FAR is ' +
        'extrapolated (exponential tail, conservative); expected_fnir is the share of genuine pairs above ' +
        'the threshold, measured on ' +
        `${table.genuine_pairs} pairs. A caller's own threshold is per comparison, as /compare's.`,
    },
  };
}
