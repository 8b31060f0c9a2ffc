import { describe, expect, it } from 'vitest';
import { checkResident, residentCommand } from '../../lab/prepare/resident.ts';
import { fixture } from '../helpers/fixtures.ts';

// what a 6.12.117 guest printed after arming them with CPU 1 offline (multi-threaded TCG)
const output = fixture('6.12.117', 'resident-probes.txt');
const hooks = ['__set_page_owner', '__reset_page_owner', '__split_page_owner', '__folio_copy_owner', '__set_page_owner_migrate_reason', '__dump_page_owner', 'read_page_owner'];

describe('resident kprobes: armed once per guest so that kernel text is not written again', () => {
  it('takes the other vCPUs offline around the arming only when asked', () => {
    const quiet = residentCommand(['__set_page_owner'], true).split('\n');
    const offline = quiet.findIndex((l) => l.includes('echo 0 > "$f"'));
    const register = quiet.findIndex((l) => l.includes("p:lab_resident/__set_page_owner __set_page_owner' >> $T/kprobe_events"));
    const enable = quiet.findIndex((l) => l.includes('/events/lab_resident/enable'));
    const online = quiet.findIndex((l) => l.includes('echo 1 > "$f"'));
    expect(offline).toBeGreaterThanOrEqual(0);
    expect([offline < register, register < enable, enable < online]).toEqual([true, true, true]);
    const plain = residentCommand(['__set_page_owner'], false);
    expect(plain).not.toMatch(/echo [01] > "\$f"|offline:/);
    expect(plain).toMatch(/tracing_on/);
  });

  it('accepts what a real guest printed: vCPUs offline then back, every hook enabled', () => {
    expect(checkResident(hooks, true, output)).toEqual({ functions: hooks, quiesced: true, online: '0-1' });
  });

  it('refuses a guest whose other vCPUs stayed online, naming what to do', () => {
    const noHotplug = output.replace('offline: 0', 'offline: 0-1');
    expect(() => checkResident(hooks, true, noHotplug)).toThrow(/could not be taken offline .*online: 0-1.*CONFIG_HOTPLUG_CPU.*LAB_TCG_THREADS=single/);
    // not asked to take them offline: their state while arming does not matter
    expect(checkResident(hooks, false, noHotplug.replace('offline: 0-1\n', '')).quiesced).toBe(false);
  });

  it('refuses a guest that did not get every vCPU back', () => {
    expect(() => checkResident(hooks, true, output.replace('online: 0-1 of 0-1', 'online: 0 of 0-1'))).toThrow(/not every vCPU came back online .*online 0 of 0-1/);
  });

  it('refuses a hook whose kprobe is missing or disabled', () => {
    expect(() => checkResident([...hooks, '__copy_page_owner'], true, output)).toThrow(/RESIDENT|no enabled kprobe on __copy_page_owner/);
    const disabled = output.replace(/(__reset_page_owner\+0x0 +)$/m, '$1[DISABLED]');
    expect(() => checkResident(hooks, true, disabled)).toThrow(/no enabled kprobe on __reset_page_owner in \/sys\/kernel\/debug\/kprobes\/list/);
  });
});
