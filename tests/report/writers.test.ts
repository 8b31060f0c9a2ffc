import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { InfraError } from '../../lab/core/errors.ts';
import { RunRecorder } from '../../lab/report/recorder.ts';
import { defaultWriters, jsonFile, textFile, writeFiles, writeResults, type FileWriter, type ResultWriter } from '../../lab/report/writers.ts';
import { tempDir } from '../helpers/temp.ts';

const quiet = consoleReporter({ quiet: true });

describe('result writers', () => {
  it('one writer that throws is logged and named in result.json; the others still write', async () => {
    const dir = tempDir('lab-writers-');
    const rec = new RunRecorder({ runId: 'r1', kernelSpec: '6.12', flavor: 'lab', startedAt: new Date() });
    const broken: ResultWriter = { name: 'broken.xml', onEnd: () => Promise.reject(new Error('disk full')) };
    await writeResults([broken, ...defaultWriters], 'onEnd', rec.finish([]), dir, quiet);
    for (const f of ['result.json', 'junit.xml', 'kcidb.json', 'summary.md']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')).reporterErrors).toEqual(['broken.xml: disk full']);
  });
});

describe('the recorder', () => {
  it('sums stage times, names the innermost failing stage, and the run ends as ERROR', async () => {
    const rec = new RunRecorder({ runId: 'r1', kernelSpec: '6.12', flavor: 'debug', startedAt: new Date() });
    await rec.stage('boot', async () => undefined);
    await rec.stage('boot', async () => undefined);
    const err = new InfraError('SSH_CONNECT_FAILED', 'no ssh');
    await rec.stage('scenarios', () => rec.stage('ssh', () => Promise.reject(err))).catch(() => undefined);
    expect(rec.fail(err)).toBe('ssh');
    const r = rec.finish([]);
    expect(Object.keys(r.stages)).toEqual(['boot', 'ssh', 'scenarios']);
    expect(r).toMatchObject({ status: 'ERROR', flavor: 'debug', schemaVersion: 2, error: { code: 'SSH_CONNECT_FAILED', stage: 'ssh' } });
  });
});

describe('named file writers (kernels.json, a bisection, exec.json, shell.json)', () => {
  it('write their files; one that throws is logged and named, and the others still write', async () => {
    const dir = tempDir('lab-writers-');
    const warned: string[] = [];
    const broken: FileWriter<{ n: number }> = { name: 'broken.md', write: () => Promise.reject(new Error('disk full')) };
    const errors = await writeFiles([jsonFile('a.json'), broken, textFile('b.md', (r: { n: number }) => `n is ${r.n}\n`)], { n: 3 }, dir, { warn: (_s: string, m: string) => warned.push(m) });
    expect(errors).toEqual(['broken.md: disk full']);
    expect(warned).toEqual(['writer failed: broken.md: disk full']);
    expect(JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'))).toEqual({ n: 3 });
    expect(readFileSync(join(dir, 'b.md'), 'utf8')).toBe('n is 3\n');
  });
});
