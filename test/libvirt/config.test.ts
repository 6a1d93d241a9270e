import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { HostSchema, HostsSection, SshSchema, TemplateSchema } from '../../src/config/sections/hosts.js';

const Section = z.object(HostsSection);

describe('hosts and templates in the config', () => {
  test('the demo shapes validate, with defaults', () => {
    const t = TemplateSchema.parse({ name: 'debian12', distro: 'debian', version: '12' });
    expect(t).toMatchObject({ arch: 'x86_64', vcpus: 1, memory: '1G', disk: '10G', networks: ['default'] });
    expect(t.pool).toBeUndefined();
    expect(HostSchema.parse({ name: 'kvm1', uri: 'qemu+ssh://root@kvm1/system?keyfile=/k' }).uri).toContain(
      'keyfile',
    );
  });

  test.each([
    [{ name: 'h', uri: "qemu:///system'; rm -rf /" }],
    [{ name: 'h', uri: 'not a uri' }],
    [{ name: 'h;x', uri: 'test:///default' }],
  ])('a bad host is refused: %j', (host) => {
    expect(HostSchema.safeParse(host).success).toBe(false);
  });

  test.each([
    [{ distro: 'red hat' }],
    [{ version: '6\n5' }],
    [{ memory: 'lots' }],
    [{ pool: 'a;b' }],
    [{ networks: ['$(id)'] }],
    [{ arch: 'x86 64' }],
  ])('a bad template is refused: %j', (bad) => {
    expect(TemplateSchema.safeParse({ name: 't', distro: 'debian', version: '12', ...bad }).success).toBe(
      false,
    );
  });

  test('ssh needs a way to check the host key; names are unique', () => {
    expect(SshSchema.safeParse({ host: 'h', user: 'u', privateKey: { file: '/k' } }).success).toBe(false);
    const twice = Section.safeParse({
      hosts: [
        { name: 'a', uri: 'test:///default' },
        { name: 'a', uri: 'test:///default' },
      ],
    });
    expect(twice.success).toBe(false);
    expect(twice.error?.issues[0]?.message).toBe("host 'a' is defined twice");
  });
});
