import { renderItem } from '../src/audit/render.js';
import type { CommandGroup } from '../src/command/spec.js';
import type { AuditFilter } from '../src/core/types.js';
import { arg, defineCommand } from '../src/pipeline/define.js';

export const group: CommandGroup = {
  name: 'history',
  summary: 'who did what, from the audit log',
  commands: [
    defineCommand({
      path: ['history'],
      summary:
        'the audit log, newest first: who did what to which VM and how it ended — only records from places, hosts and VMs you may see',
      args: {
        vm: arg.vm('only this VM'),
        user: arg.name('only this user (or, for unidentified senders, this nick)'),
        host: arg.host('only this host'),
        since: arg.time('only records since then: 2026-11-25, 2h, 7d'),
        limit: arg.int('at most this many records (default 10)', { min: 1, max: 100 }),
      },
      examples: [
        { input: 'history', reply: 'no audit records match', note: 'a fresh demo has no history yet' },
        { input: 'history vm=web01 since=2h limit=5', reply: 'no audit records match' },
        { input: 'history limit=0', reply: "'0' is too small" },
      ],
      async run({ args, ctx }) {
        const filter: AuditFilter = { limit: args.limit ?? 10 };
        if (args.vm !== undefined) filter.vm = args.vm;
        if (args.user !== undefined) filter.user = args.user;
        if (args.host !== undefined) filter.host = args.host;
        if (args.since !== undefined) filter.since = new Date(args.since);
        const records = await ctx.history.query(filter);
        if (records.length === 0) return { reply: 'no audit records match' };
        const lines = records.map((record) => {
          const time = record.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
          const where = [record.host, record.vm].filter((v) => v !== undefined).join('/');
          return `${time}${where ? ` [${where}]` : ''} ${renderItem(record)}`;
        });
        return { reply: `${records.length} record${records.length === 1 ? '' : 's'}, newest first:`, lines };
      },
    }),
  ],
};

export const auditGroup: CommandGroup = {
  name: 'audit',
  summary: 'the audit log itself',
  commands: [
    defineCommand({
      path: ['audit', 'verify'],
      summary: 'check the audit log’s hash chain: an edited, removed or reordered record is named',
      args: {},
      examples: [{ input: 'audit verify', reply: 'the audit log is intact' }],
      async run({ ctx }) {
        const report = await ctx.history.verify();
        const counted = `${report.records} records in ${report.files} file${report.files === 1 ? '' : 's'}`;
        if (report.ok) return { reply: `the audit log is intact: ${counted}, every link checked` };
        const first = report.first!;
        return {
          reply: `the audit log is broken at ${first.file}:${first.line}${first.id ? ` (record ${first.id})` : ''}: ${first.problem}`,
          lines: report.problems.slice(1).map((p) => `also ${p.file}:${p.line}: ${p.problem}`),
          outcome: 'failed',
          detail: `audit chain broken at ${first.file}:${first.line}: ${first.problem} (${counted})`,
        };
      },
    }),
  ],
};
