/**
 * The event stream: virsh's event lines (in the formats of tools/virsh-domain-event.c) become
 * typed events; the stream announces when it listens, and after it died and came back it says
 * that events may have been missed.
 */
import { describe, expect, test } from 'vitest';
import { type DomainEvent, EventParser, type HostEvent, HostEvents } from '../../src/libvirt/events.js';
import type { ShellProcess } from '../../src/libvirt/virsh-shell.js';

function parse(text: string, chunk = text.length): DomainEvent[] {
  const out: DomainEvent[] = [];
  const parser = new EventParser(
    (e) => out.push(e),
    () => new Date(0),
  );
  for (let i = 0; i < text.length; i += chunk) parser.push(text.slice(i, i + chunk));
  parser.flush();
  return out;
}

const STREAM = [
  "2026-12-01 20:42:29.801+0000: event 'device-added' for domain 'web01': net1",
  "2026-12-01 20:42:30.000+0000: event 'lifecycle' for domain 'web01': Stopped Destroyed",
  "2026-12-01 20:42:31.250+0000: event 'device-removed' for domain 'lv sp': virtio-disk1",
  "2026-12-01 20:42:32.000+0000: event 'job-completed' for domain 'web01':",
  '\toperation: 2',
  '\ttime_elapsed: 1034',
  "2026-12-01 20:42:33.000+0000: event 'metadata-change' for domain 'web01': type element, uri urn:x-virtbot:domain:1",
  "event 'reboot' for domain 'web01'",
  "2026-12-01 20:42:34.000+0000: event 'device-removal-failed' for domain 'web01': net2",
  '',
].join('\n');

describe('EventParser', () => {
  test("each of virsh's event formats becomes a typed event, with libvirt's timestamp", () => {
    expect(parse(STREAM)).toEqual([
      { type: 'device-added', domain: 'web01', time: new Date('2026-12-01T20:42:29.801Z'), alias: 'net1' },
      {
        type: 'lifecycle',
        domain: 'web01',
        time: new Date('2026-12-01T20:42:30.000Z'),
        event: 'Stopped',
        detail: 'Destroyed',
      },
      {
        type: 'device-removed',
        domain: 'lv sp',
        time: new Date('2026-12-01T20:42:31.250Z'),
        alias: 'virtio-disk1',
      },
      {
        type: 'job-completed',
        domain: 'web01',
        time: new Date('2026-12-01T20:42:32.000Z'),
        fields: { operation: '2', time_elapsed: '1034' },
      },
      {
        type: 'metadata-change',
        domain: 'web01',
        time: new Date('2026-12-01T20:42:33.000Z'),
        kind: 'element',
        uri: 'urn:x-virtbot:domain:1',
      },
      { type: 'domain', name: 'reboot', domain: 'web01', time: new Date(0), detail: '' },
      {
        type: 'device-removal-failed',
        domain: 'web01',
        time: new Date('2026-12-01T20:42:34.000Z'),
        alias: 'net2',
      },
    ]);
  });

  test('the same events whatever the chunks', () => {
    expect(parse(STREAM, 1)).toEqual(parse(STREAM));
    expect(parse(STREAM, 7)).toEqual(parse(STREAM));
  });

  test('lines that are not events (the prompt, the uri) are ignored', () => {
    expect(parse('virsh # uri\nqemu:///system\nvirsh # event --all --loop --timestamp\n')).toEqual([]);
  });
});

/** A stand-in for `virsh -q -c URI` fed "uri\nevent …\n": echoes, then prints what the test says. */
function fakeStream() {
  const procs: {
    print(text: string): void;
    die(reason: string): void;
  }[] = [];
  const spawn = async (): Promise<ShellProcess> => {
    let onOut: (c: string) => void = () => {};
    let onClose: (r: string) => void = () => {};
    let dead = false;
    const proc = {
      print: (text: string) => {
        if (!dead) onOut(text);
      },
      die: (reason: string) => {
        if (dead) return;
        dead = true;
        onClose(reason);
      },
    };
    procs.push(proc);
    return {
      write(data: string) {
        for (const line of data.split('\n').filter(Boolean)) {
          onOut(`virsh # ${line}\n`);
          if (line === 'uri') onOut('qemu:///system\n');
        }
      },
      onStdout: (l) => {
        onOut = l;
      },
      onStderr: () => {},
      onClose: (l) => {
        onClose = l;
      },
      kill: () => proc.die('was killed'),
    };
  };
  return { spawn, procs };
}

describe('HostEvents', () => {
  test('listening, typed events to every subscriber, and a gap announced after a restart', async () => {
    const { spawn, procs } = fakeStream();
    const events = new HostEvents('lab', spawn, { backoffMs: 1 });
    try {
      const seen: HostEvent[] = [];
      events.subscribe((e) => seen.push(e));
      await events.start();
      expect(events.starts).toBe(1);
      const added = events.waitFor((e) => e.type === 'device-added', 5000);
      procs[0]!.print("event 'device-added' for domain 'web01': net1\n");
      expect(await added).toMatchObject({ type: 'device-added', domain: 'web01', alias: 'net1' });

      const gap = events.waitFor((e) => e.type === 'stream-gap', 5000);
      procs[0]!.die('lost its SSH connection');
      expect(await gap).toMatchObject({ type: 'stream-gap' });
      expect(events.starts).toBe(2);
      const removed = events.waitFor((e) => e.type === 'device-removed', 5000);
      procs[1]!.print("event 'device-removed' for domain 'web01': net1\n");
      expect(await removed).toMatchObject({ alias: 'net1' });
      expect(seen.map((e) => e.type)).toEqual(['device-added', 'stream-gap', 'device-removed']);
    } finally {
      events.close();
    }
  });

  test('on the test driver there is no stream, and waiting ends at the timeout', async () => {
    const events = new HostEvents('test', undefined);
    expect(events.available).toBe(false);
    await events.start();
    expect(await events.waitFor(() => true, 10)).toBeUndefined();
    events.close();
  });
});
