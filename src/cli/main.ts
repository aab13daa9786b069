#!/usr/bin/env node
/** `shelia <command>`: the command-line client of a Shelia service. */
import { runCalibrate } from './calibrate.js';
import { runEnroll } from './enroll.js';
import { CliError, EXIT } from './errors.js';
import { ENROLL_USAGE, parseEnrollArgs } from './options.js';

const USAGE = `Usage: shelia <command> [options]

Commands:
  enroll <folder | manifest.csv>   enroll people from a folder of photos or a CSV manifest
  calibrate --out report.svg        genuine/impostor distances, FAR/FRR and thresholds of the gallery

Run "shelia enroll --help" for its options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'enroll': {
      const options = parseEnrollArgs(rest);
      if (options === 'help') {
        process.stdout.write(`${ENROLL_USAGE}\n`);
        return EXIT.OK;
      }
      return runEnroll(options, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'calibrate':
      return runCalibrate(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    default:
      throw new CliError(`unknown command ${command}\n\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`shelia: ${err instanceof CliError ? err.message : String(err)}\n`);
  if (!(err instanceof CliError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = EXIT.USAGE;
}
