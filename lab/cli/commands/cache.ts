/** `lab cache ls|prune`: what the cache holds, and making room. */
import { Option, type Command } from 'commander';
import { formatBytes, listCache, parseAge, pruneKernels } from '../../api.ts';
import { configFrom, wholeNumber } from '../options.ts';

function formatAge(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m}m` : m < 2880 ? `${Math.round(m / 60)}h` : `${Math.round(m / 1440)}d`;
}

export function cacheCommand(program: Command): void {
  const cache = program.command('cache').description('show or prune the lab cache (LAB_CACHE_DIR)');
  cache
    .command('ls')
    .description('list cache entries with size and age (a kept build tree: since its last build), scratch folders in use or left by a lab process that is gone, and logs')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { json?: boolean }) => {
      const dir = configFrom().paths.cache;
      const entries = await listCache(dir);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      const now = Date.now();
      for (const e of entries) {
        const age = formatAge(now - Date.parse(e.createdAt));
        process.stdout.write(`${e.kind.padEnd(8)} ${formatBytes(e.bytes).padStart(9)} ${age.padStart(6)}  ${e.name}${e.detail ? `  ${e.detail}` : ''}\n`);
      }
      process.stdout.write(`${entries.length} entries, ${formatBytes(entries.reduce((a, e) => a + e.bytes, 0))} in ${dir}\n`);
    });
  cache
    .command('prune')
    .description(
      'remove kernel builds and kept build trees: all but the newest N, and/or those older than an age (7d, 12h); and what lab processes that are gone left (scratch folders of builds, extractions, downloads and guests), and the logs of lab build and lab keys commands that ended',
    )
    .addOption(new Option('--keep <n>', 'kernel builds to keep, and as many kept build trees (the most recently used)').argParser(wholeNumber('--keep')))
    .option('--older-than <age>', 'remove builds older than this, and kept build trees unused for that long (e.g. 7d, 12h, 30m)')
    .action(async (o: { keep?: number; olderThan?: string }) => {
      const removed = await pruneKernels(configFrom().paths.cache, { keep: o.keep, olderThanMs: o.olderThan ? parseAge(o.olderThan) : undefined });
      for (const e of removed) process.stdout.write(`removed ${e.name} (${formatBytes(e.bytes)})\n`);
      process.stdout.write(`${removed.length} cache entr${removed.length === 1 ? 'y' : 'ies'} removed\n`);
    });
}
