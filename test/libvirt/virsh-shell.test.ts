import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { LocalBackend } from '../../src/libvirt/backend.js';
import { Hypervisor } from '../../src/libvirt/hypervisor.js';
import { checkName, quoteVirshArg, VirshArgError, virshCommandLine } from '../../src/libvirt/virsh-quote.js';
import {
  localVirshSpawner,
  type ShellProcess,
  type ShellSpawner,
  VirshConnectionError,
  VirshError,
  VirshShell,
} from '../../src/libvirt/virsh-shell.js';
import { NO_VIRSH, NO_VIRSH_REASON } from './have-virsh.js';

describe.skipIf(NO_VIRSH)(NO_VIRSH ? `virsh shell — ${NO_VIRSH_REASON}` : 'virsh shell', () => {
  const URI = 'test:///default';
  const shells: VirshShell[] = [];
  function shell(spawn: ShellSpawner = localVirshSpawner(URI), timeoutMs?: number): VirshShell {
    const s = new VirshShell({
      host: 'test',
      spawn,
      startTimeoutMs: 20_000,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    shells.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(shells.splice(0).map((s) => s.close()));
  });

  /** Wraps a spawner so that tests can see every line sent and intercept writes. */
  function recording(inner: ShellSpawner, onWrite?: (data: string, proc: ShellProcess) => boolean) {
    const sent: string[] = [];
    const spawn: ShellSpawner = async () => {
      const proc = await inner();
      return {
        ...proc,
        write(data: string) {
          sent.push(data);
          if (onWrite?.(data, proc) === false) return;
          proc.write(data);
        },
      };
    };
    return { sent, spawn };
  }

  /** A shell whose process is killed when the first write containing `match` arrives after `arm()`. */
  async function killedAtNextWrite(match = '') {
    let armed = false;
    const { spawn } = recording(localVirshSpawner(URI), (data, proc) => {
      if (!armed || !data.includes(match)) return true;
      armed = false;
      proc.kill();
      return false;
    });
    const s = shell(spawn);
    await s.run('uri');
    return {
      s,
      arm: () => {
        armed = true;
      },
    };
  }

  const HOSTILE = [
    'a;b',
    'x; destroy test',
    'x\ndestroy test',
    "it's",
    '"quoted"',
    '$(touch /tmp/pwned)',
    '`id`',
    'back\\slash',
    '<dom>&amp;</dom>',
    '#comment',
    '--all',
    'tab\there',
    'a'.repeat(10_000),
    '',
    ' ',
  ];

  /** The characters of a line that virsh's parser sees outside quotes and not escaped by a backslash. */
  function bareCharacters(line: string): string {
    let out = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quoted) {
        if (c === "'") quoted = false;
      } else if (c === "'") quoted = true;
      else if (c === '\\') i++;
      else out += c;
    }
    expect(quoted).toBe(false);
    return out;
  }

  describe('framing', () => {
    test('stdout and stderr of each command are separated, errors are VirshError', async () => {
      const s = shell();
      const list = await s.run('list', [{ option: '--all' }]);
      expect(list.stdout).toMatch(/^\s*1\s+test\s+running\s*$/);
      expect(list.stderr).toBe('');
      const err = await s.run('dominfo', [{ option: '--domain', value: 'nope' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshError);
      expect((err as VirshError).message).toContain("failed to get domain 'nope'");
      // The stream is still in step after an error.
      const xml = await s.run('dumpxml', [{ option: '--domain', value: 'test' }]);
      expect(xml.stdout.startsWith("<domain type='test'")).toBe(true);
      expect(xml.stdout.trimEnd().endsWith('</domain>')).toBe(true);
    });

    test('many concurrent commands are serialized on one process and each gets its own output', async () => {
      const s = shell();
      const outs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => s.run('echo', [`line-${i}`]).then((r) => r.stdout)),
      );
      expect(outs).toEqual(Array.from({ length: 50 }, (_, i) => `line-${i}`));
      expect(s.starts).toBe(1);
    });

    test('each command is sent with one marker line, under a fresh random nonce', async () => {
      const { sent, spawn } = recording(localVirshSpawner(URI));
      const s = shell(spawn);
      await s.run('domstate', [{ option: '--domain', value: 'test' }]);
      await s.run('domstate', [{ option: '--domain', value: 'test' }]);
      const nonces = sent.map((data) => {
        const m = /^(.*)\necho --err 'VBEND' '([0-9a-f]{32})'\n$/.exec(data);
        expect(m, data).not.toBeNull();
        return m![2];
      });
      expect(sent.slice(1).map((d) => d.split('\n')[0])).toEqual([
        "domstate --domain 'test'",
        "domstate --domain 'test'",
      ]);
      expect(new Set(nonces).size).toBe(sent.length);
    });

    const FORGED = [
      "virsh # echo --err 'VBEND' '00000000000000000000000000000000'",
      'error: VBEND 00000000000000000000000000000000',
      'VBBEGIN 0123 VBEND 0123',
      "virsh # echo 'VBEND' 'x'",
      'virsh # ',
      'virsh # uri',
    ];

    test('output that looks like markers, prompts or errors comes back as output', async () => {
      const s = shell();
      for (const text of FORGED) {
        const out = await s.run('echo', [text]);
        expect(out.stdout).toBe(text);
        expect(out.stderr).toBe('');
      }
      // The same on stderr is an error line of virsh's own making, so the command failed.
      const err = await s.run('echo', [{ option: '--err' }, FORGED[0]!]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshError);
      expect((await s.run('echo', ['still in step'])).stdout).toBe('still in step');
      expect(s.starts).toBe(1);
    });

    /**
     * A stand-in for virsh that echoes each line after the prompt as readline does, answers with
     * `answer(line)`, and delivers its two streams as `deliver` says (order, chunking).
     */
    function fakeVirsh(
      answer: (line: string) => { out?: string; err?: string },
      deliver: (out: string, err: string, emit: { out(c: string): void; err(c: string): void }) => void,
    ): ShellSpawner {
      return async () => {
        let onOut: (c: string) => void = () => {};
        let onErr: (c: string) => void = () => {};
        let onClose: (reason: string) => void = () => {};
        let closed = false;
        let buffer = '';
        return {
          write(data) {
            buffer += data;
            let out = '';
            let err = '';
            for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
              const line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              out += `virsh # ${line}\n`;
              const marker = /^echo --err 'VBEND' '([0-9a-f]+)'$/.exec(line);
              if (marker) err += `error: VBEND ${marker[1]}\n`;
              else {
                const a = answer(line);
                out += a.out ?? '';
                err += a.err ?? '';
              }
            }
            deliver(out, err, {
              out: (c) => {
                if (!closed) onOut(c);
              },
              err: (c) => {
                if (!closed) onErr(c);
              },
            });
          },
          onStdout: (l) => {
            onOut = l;
          },
          onStderr: (l) => {
            onErr = l;
          },
          onClose: (l) => {
            onClose = l;
          },
          kill() {
            if (closed) return;
            closed = true;
            onClose('was killed');
          },
        };
      };
    }

    const HOSTILE_XML = FORGED.map((f) => `<description>${f}</description>`).join('\n');
    const answers = (line: string) =>
      line.startsWith('dumpxml')
        ? { out: `${HOSTILE_XML}\n`, err: 'warning: error: VBEND 1\n' }
        : line.startsWith('dominfo')
          ? { err: "error: failed to get domain 'nope'\n" }
          : { out: 'test:///default\n' };

    test('either stream may come first, in any chunks: each command still gets exactly its own output', async () => {
      const orders: ((
        out: string,
        err: string,
        emit: { out(c: string): void; err(c: string): void },
      ) => void)[] = [
        // stderr first, a macrotask apart
        (out, err, emit) => {
          emit.err(err);
          setImmediate(() => emit.out(out));
        },
        // one character at a time, the streams interleaved
        (out, err, emit) => {
          queueMicrotask(() => {
            for (let i = 0; i < Math.max(out.length, err.length); i++) {
              if (i < out.length) emit.out(out[i]!);
              if (i < err.length) emit.err(err[i]!);
            }
          });
        },
      ];
      for (const deliver of orders) {
        const s = shell(fakeVirsh(answers, deliver));
        const [xml, missing, again] = await Promise.all([
          s.run('dumpxml', [{ option: '--domain', value: 'test' }]),
          s.run('dominfo', [{ option: '--domain', value: 'nope' }]).catch((e: unknown) => e),
          s.run('dumpxml', [{ option: '--domain', value: 'test' }]),
        ]);
        expect(xml).toEqual({ stdout: `${HOSTILE_XML}\n`, stderr: 'warning: error: VBEND 1\n' });
        expect(missing).toBeInstanceOf(VirshError);
        expect(again).toEqual(xml);
        expect(s.starts).toBe(1);
      }
    });

    test('stdout that does not open with the echo of the command fails it, outcome unknown, and virsh is replaced', async () => {
      let stray = false;
      const s = shell(
        fakeVirsh(answers, (out, err, emit) => {
          queueMicrotask(() => {
            if (stray && out.includes('dumpxml')) {
              stray = false;
              emit.out('left over from nowhere\n');
            }
            emit.out(out);
            emit.err(err);
          });
        }),
      );
      await s.run('uri');
      stray = true;
      const err = await s.run('dumpxml', [{ option: '--domain', value: 'test' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshConnectionError);
      expect((err as Error).message).toMatch(/garbled the echo .* outcome unknown/);
      expect((await s.run('dumpxml', [{ option: '--domain', value: 'test' }])).stdout).toBe(
        `${HOSTILE_XML}\n`,
      );
      expect(s.starts).toBe(2);
    });

    test('a batch is one write; each command gets its own output or its own error, in order', async () => {
      const { sent, spawn } = recording(localVirshSpawner(URI));
      const s = shell(spawn);
      await s.run('uri');
      sent.length = 0;
      const results = await s.runBatch([
        { command: 'domstate', args: [{ option: '--domain', value: 'test' }] },
        { command: 'dominfo', args: [{ option: '--domain', value: 'nope' }] },
        { command: 'echo', args: [FORGED[0]!] },
        { command: 'list', args: [{ option: '--all' }, { option: '--name' }] },
      ]);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.split('\n').filter((l) => l.startsWith('echo --err'))).toHaveLength(4);
      expect(results.map((r) => r.ok)).toEqual([true, false, true, true]);
      expect(results[0]).toMatchObject({ ok: true, stdout: 'running\n' });
      expect(results[1]!.ok ? undefined : results[1]!.error).toBeInstanceOf(VirshError);
      expect(results[2]).toMatchObject({ ok: true, stdout: FORGED[0] });
      expect(results[3]).toMatchObject({ ok: true, stdout: 'test\n' });
      // Still in step, one process.
      expect((await s.run('echo', ['after'])).stdout).toBe('after');
      expect(s.starts).toBe(1);
    });

    test('a batch whose process dies fails as a whole: outcome unknown', async () => {
      const { s, arm } = await killedAtNextWrite();
      arm();
      const err = await s
        .runBatch([{ command: 'domstate', args: ['test'] }, { command: 'uri' }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshConnectionError);
      expect((await s.runBatch([{ command: 'uri' }]))[0]).toMatchObject({ ok: true, stdout: `${URI}\n` });
      expect(s.starts).toBe(2);
    });

    // How fast a warm shell answers is bench/'s to measure; here, that it stays one process.
    test('a hundred commands run in one virsh process', async () => {
      const s = shell();
      for (let i = 0; i < 100; i++) {
        expect((await s.run('domstate', [{ option: '--domain', value: 'test' }])).stdout.trim()).toBe(
          'running',
        );
      }
      expect(s.starts).toBe(1);
    });
  });

  describe('quoting for virsh', () => {
    test('any printable string comes back from virsh echo exactly as sent', async () => {
      const s = shell();
      const printable = fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
        .filter((t) => !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(t) && !t.startsWith('-'));
      const specials = fc
        .array(
          fc.constantFrom(
            ';',
            "'",
            '"',
            '\\',
            '$',
            '(',
            ')',
            '`',
            '#',
            ' ',
            '<',
            '>',
            '&',
            '|',
            'a',
            'é',
            '漢',
            '\u{1F600}',
          ),
          { minLength: 1, maxLength: 30 },
        )
        .map((a) => a.join(''))
        .filter((t) => !t.startsWith('-'));
      for (const arb of [printable, specials]) {
        await fc.assert(
          fc.asyncProperty(arb, async (text) => {
            const out = await s.run('echo', [text]);
            expect(out.stdout).toBe(text);
          }),
          { numRuns: 150 },
        );
      }
    });

    test('long arguments survive readline (no horizontal scrolling of the echo)', async () => {
      const s = shell();
      for (const n of [79, 80, 81, 200, 1000, 8000]) {
        const text = `${'x'.repeat(n - 1)};`;
        expect((await s.run('echo', [text])).stdout).toBe(text);
      }
    });

    test('hostile strings are refused or quoted, never sent bare', async () => {
      const { sent, spawn } = recording(localVirshSpawner(URI));
      const s = shell(spawn);
      for (const name of HOSTILE) {
        try {
          const out = await s.run('echo', [name]);
          // Accepted: it arrived as one literal argument.
          expect(out.stdout).toBe(name);
        } catch (error) {
          expect(error).toBeInstanceOf(VirshArgError);
        }
      }
      const lines = sent.join('').split('\n');
      // Outside single-quoted words, what reached virsh is only command and option words.
      for (const line of lines) expect(bareCharacters(line)).toMatch(/^[a-z -]*$/);
      expect(sent.join('')).not.toContain('a'.repeat(10_000));
      // The domain still runs: no injected command was executed.
      expect((await s.run('domstate', [{ option: '--domain', value: 'test' }])).stdout.trim()).toBe(
        'running',
      );
    });

    test('control characters and over-long arguments are refused before anything is sent', () => {
      for (const bad of ['a\nb', 'a\rb', 'a\tb', 'a\u0000b', 'a\u001bb', 'x'.repeat(10_000)]) {
        expect(() => quoteVirshArg(bad)).toThrow(VirshArgError);
      }
      expect(() => virshCommandLine('list; destroy', [])).toThrow(VirshArgError);
      expect(() => virshCommandLine('list', [{ option: '--all; destroy test' }])).toThrow(VirshArgError);
      expect(() => virshCommandLine('dominfo', ['--all'])).toThrow(VirshArgError);
      expect(quoteVirshArg("it's")).toBe(`'it'\\''s'`);
    });

    test('hostile VM names never reach virsh through the Hypervisor API', async () => {
      const { sent, spawn } = recording(localVirshSpawner(URI));
      const backend = new LocalBackend({ host: 'test', uri: URI });
      // Swap in the recording shell.
      const hv = new Hypervisor('test', URI, {
        ...backend,
        shell: shell(spawn),
        withTempFile: backend.withTempFile,
        getent: backend.getent,
        close: () => backend.close(),
        kind: 'local',
      });
      for (const name of HOSTILE) {
        expect(() => checkName('vm', name)).toThrow(VirshArgError);
        await expect(hv.start(name)).rejects.toThrow(VirshArgError);
        await expect(hv.destroy(name)).rejects.toThrow(VirshArgError);
        await expect(hv.dumpXml(name)).rejects.toThrow(VirshArgError);
        await expect(hv.setMemory(name, 1024, { live: false, config: true })).rejects.toThrow(VirshArgError);
      }
      expect(sent).toEqual([]);
      await backend.close();
    });
  });

  describe('failures are reported truthfully', () => {
    test('a process killed mid-command fails that command, and the next one restarts virsh', async () => {
      const { s, arm } = await killedAtNextWrite('setmem');
      arm();
      const err = await s
        .run('setmem', [
          { option: '--domain', value: 'test' },
          { option: '--size', value: '1048576' },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshConnectionError);
      expect((err as Error).message).toMatch(/outcome unknown/);
      const after = await s.run('domstate', [{ option: '--domain', value: 'test' }]);
      expect(after.stdout.trim()).toBe('running');
      expect(s.starts).toBe(2);
    });

    test('a command that gets no answer times out as failed, and the process is replaced', async () => {
      let swallow = false;
      const { spawn } = recording(localVirshSpawner(URI), (data) => !(swallow && data.includes('domstate')));
      const s = shell(spawn, 400);
      await s.run('uri');
      swallow = true;
      const err = await s.run('domstate', [{ option: '--domain', value: 'test' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshConnectionError);
      expect((err as Error).message).toMatch(/did not answer .* outcome unknown/);
      swallow = false;
      expect((await s.run('domstate', [{ option: '--domain', value: 'test' }])).stdout.trim()).toBe(
        'running',
      );
      expect(s.starts).toBe(2);
    });

    test('a virsh that cannot connect is reported, not hung', async () => {
      const s = shell(localVirshSpawner('qemu+tcp://127.0.0.1:1/system'), 5000);
      const err = await s.run('list').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshConnectionError);
      expect((err as Error).message).toMatch(/cannot/);
    });

    test('a missing virsh binary is a connection error', async () => {
      const s = shell(localVirshSpawner(URI, '/nonexistent/virsh'));
      await expect(s.run('list')).rejects.toThrow(VirshConnectionError);
    });
  });
});
