/** `lab baseline keep|accept`: the nightly baseline folder, grown by clean nights, replaced only by an explicit acceptance. */
import type { Command } from 'commander';
import { acceptNight, keepNight } from '../../api.ts';
import { positiveInt } from '../options.ts';

export function baselineCommand(program: Command): void {
  const cmd = program
    .command('baseline')
    .description("the nightly baseline: BASELINE/<series>-<flavor>/<run-id>/, the newest clean nights, read by lab report --baseline BASELINE/<series>-<flavor>");
  cmd
    .command('keep')
    .description('add a clean, complete night (merged runs) to the baseline, keeping the newest --nights per kernel series and flavor (an ERROR run is refused, exit 2)')
    .argument('<runs...>', 'results folders, result.json files, or folders of results folders (the report job: merged/)')
    .requiredOption('--into <dir>', 'the baseline folder')
    .option('--nights <n>', 'how many nights each series keeps', positiveInt('--nights'), 5)
    .action(async (runs: string[], o: { into: string; nights: number }) => {
      for (const g of await keepNight(runs, o.into, o.nights)) process.stdout.write(`${g.group}: ${g.nights} night(s) in ${o.into}\n`);
    });
  cmd
    .command('accept')
    .description('an intended change (a new stable release that rightly moves a count): these runs replace the baseline of their series, recorded with who accepted them and why (accepted.json)')
    .argument('<runs...>', 'results folders, result.json files, or folders of results folders')
    .requiredOption('--into <dir>', 'the baseline folder')
    .requiredOption('--by <who>', 'who accepts the change')
    .requiredOption('--why <reason>', 'why the change is intended')
    .action(async (runs: string[], o: { into: string; by: string; why: string }) => {
      for (const a of await acceptNight(runs, o.into, { by: o.by, why: o.why })) process.stdout.write(`accepted ${a.runId} as the baseline (by ${a.by}: ${a.why})\n`);
    });
}
