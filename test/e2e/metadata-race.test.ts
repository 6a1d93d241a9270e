/**
 * End to end: three virtbot processes change the access list of one VM at once, over SSH,
 * against the real libvirtd (qemu:///system; libvirt's test driver keeps its state per
 * connection and cannot show this). No grant and no revocation may be lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readVmMetadata } from '../../src/libvirt/metadata.js';
import { parseXml } from '../../src/libvirt/xml.js';
import { stopProcess, waitForOutput } from '../harness/util.js';
import { dumpxml, skipReason, sshHost, tinyVm } from './env.js';

const why = skipReason();

describe.skipIf(why !== undefined)(
  why ? `metadata race — skipped: ${why}` : 'metadata race between processes',
  () => {
    const vm = `vbrace-${process.pid}-${Date.now().toString(36)}`;
    let remove: () => Promise<void> = async () => {};
    const children: ChildProcess[] = [];
    beforeAll(async () => {
      remove = await tinyVm(vm);
    });
    afterAll(async () => {
      await Promise.allSettled(children.map((c) => stopProcess(c)));
      await remove();
    });

    /** Start one writer per list of changes; all begin at the same moment; resolves when all are done. */
    async function race(perProcess: string[][]): Promise<void> {
      const host = JSON.stringify(sshHost());
      const script = join(import.meta.dirname, 'fixtures', 'metadata-writer.mjs');
      const procs = perProcess.map((changes) => {
        const child = spawn(process.execPath, [script, vm, ...changes], {
          env: { ...process.env, HOST: host },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        children.push(child);
        return child;
      });
      await Promise.all(procs.map((p, i) => waitForOutput(p, /^ready$/, 60_000, `writer ${i} to connect`)));
      const done = procs.map((p, i) => waitForOutput(p, /^done \d+$/, 120_000, `writer ${i} to finish`));
      for (const p of procs) p.stdin!.write('go\n');
      await Promise.all(done);
    }

    async function access(inactive: boolean) {
      const meta = readVmMetadata(parseXml(await dumpxml(vm, inactive)), { mode: 'auto' });
      return [...meta.users].sort();
    }

    test('three processes grant three users each at once: all nine are there, live and in config', async () => {
      await race([1, 2, 3].map((p) => [1, 2, 3].map((u) => `+p${p}u${u}`)));
      const all = [1, 2, 3].flatMap((p) => [1, 2, 3].map((u) => `p${p}u${u}`)).sort();
      expect(await access(true)).toEqual(all);
      expect(await access(false)).toEqual(all);
      expect(await dumpxml(vm, true)).not.toContain('urn:x-virtbot:lock:');
    }, 180_000);

    test('revocations and grants at once: none lost either', async () => {
      await race([1, 2, 3].map((p) => [`-p${p}u1`, `+p${p}new`, `-p${p}u2`]));
      const left = [1, 2, 3].flatMap((p) => [`p${p}u3`, `p${p}new`]).sort();
      expect(await access(true)).toEqual(left);
      expect(await access(false)).toEqual(left);
    }, 180_000);
  },
);
