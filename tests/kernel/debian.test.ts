import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostMirrors, parseMadison, upstreamOf } from '../../lab/kernel/debian.ts';
import { tempDir } from '../helpers/temp.ts';

/** `apt-cache madison` as the lab's apt state answered on this host (2026-12-02), the mirror's address replaced. */
const MADISON = `linux-source-7.2 |   7.2.13-1 | http://mirror.invalid/debian sid/main amd64 Packages
linux-source-7.2 | 7.2.12-1~bpo13+1 | http://mirror.invalid/debian trixie-backports/main amd64 Packages
linux-source-7.2 | 7.2.11-1~bpo13+1 | http://mirror.invalid/debian trixie-backports/main amd64 Packages
linux-source-6.12 | 6.12.117-1 | http://mirror.invalid/debian trixie/main amd64 Packages
linux-source-6.12 | 6.12.107-1 | http://mirror.invalid/debian trixie/main amd64 Packages
linux-source-6.12 | 6.12.95-1~bpo12+1 | http://mirror.invalid/debian bookworm-backports/main amd64 Packages
`;

describe("Debian's archive", () => {
  it('reads the kernel release out of a Debian version', () => {
    expect(upstreamOf('7.3.4-1~bpo13+1')).toBe('7.3.4');
    expect(upstreamOf('6.12.117-1')).toBe('6.12.117');
    expect(upstreamOf('1:6.1.76-1')).toBe('6.1.76');
  });

  it("parses apt-cache madison: package, Debian version, release, suite", () => {
    const c = parseMadison(MADISON);
    expect(c).toHaveLength(6);
    expect(c[0]).toEqual({ pkg: 'linux-source-7.2', debianVersion: '7.2.13-1', version: '7.2.13', suite: 'sid' });
    expect(c.find((x) => x.version === '6.12.107')).toEqual({ pkg: 'linux-source-6.12', debianVersion: '6.12.107-1', version: '6.12.107', suite: 'trixie' });
    expect(c.at(-1)!.suite).toBe('bookworm-backports');
  });

  it("takes the host's Debian mirrors from its apt sources (deb822 and one-line), main and security, and nothing else", () => {
    const dir = tempDir('lab-apt-');
    const deb822 = join(dir, 'debian.sources');
    writeFileSync(
      deb822,
      'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n',
    );
    const other = join(dir, 'other.list');
    writeFileSync(other, 'deb http://other.invalid/apt cloud-sdk-bookworm main\n');
    return hostMirrors([other, deb822]).then((m) => {
      expect(m).toEqual({ main: 'http://mirror.invalid/debian', security: 'http://mirror.invalid/debian-security' });
      const oneLine = join(dir, 'sources.list');
      writeFileSync(oneLine, 'deb [signed-by=/k.gpg] http://mirror.invalid/debian bookworm main\n');
      return hostMirrors([oneLine]).then((n) => expect(n).toEqual({ main: 'http://mirror.invalid/debian' }));
    });
  });
});
