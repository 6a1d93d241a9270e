import { renderItem } from '../src/audit/render.js';
import type { AuditFilter, CommandGroup } from '../src/command/spec.js';

export const group: CommandGroup = {
  name: 'history',
  summary: 'who did what, from the audit log',
  commands: [
    {
      path: ['history'],
      summary: 'the audit log, newest first: who did what to which VM and how it ended, denials included',
      args: [
        { name: 'vm', type: 'vm', help: 'only this VM' },
        { name: 'user', type: 'name', help: 'only this user (or, for unidentified senders, this nick)' },
        { name: 'host', type: 'host', help: 'only this host' },
        { name: 'since', type: 'time', help: 'only records since then: 2026-11-25, 2h, 7d' },
        { name: 'limit', type: 'int', min: 1, max: 100, help: 'at most this many records (default 10)' },
      ],
      examples: [
        { input: 'history', reply: 'no audit records match', note: 'a fresh demo has no history yet' },
        { input: 'history vm=web01 since=2h limit=5', reply: 'no audit records match' },
        { input: 'history limit=0', reply: "'0' is too small" },
      ],
      async run(ctx, args) {
        const filter: AuditFilter = { limit: typeof args['limit'] === 'number' ? args['limit'] : 10 };
        if (typeof args['vm'] === 'string') filter.vm = args['vm'];
        if (typeof args['user'] === 'string') filter.user = args['user'];
        if (typeof args['host'] === 'string') filter.host = args['host'];
        if (typeof args['since'] === 'string') filter.since = new Date(args['since']);
        const records = await ctx.audit.query(filter);
        if (records.length === 0) return { reply: 'no audit records match' };
        const lines = records.map((record) => {
          const time = record.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
          const where = [record.host, record.vm].filter((v) => v !== undefined).join('/');
          return `${time}${where ? ` [${where}]` : ''} ${renderItem(record)}`;
        });
        return {
          reply: `${records.length} record${records.length === 1 ? '' : 's'}, newest first:`,
          lines,
        };
      },
    },
  ],
};
