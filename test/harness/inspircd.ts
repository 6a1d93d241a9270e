/**
 * Starts a real InspIRCd 3 linked to Atheme services on 127.0.0.1 with random ports, for
 * services accounts, SASL PLAIN, account-tag, extended-join and account-notify. Fakelag and
 * per-IP limits are off (see shared/notes/test-servers.md). Needs `scripts/setup-irc.sh`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, program, stopProcess, waitForFileLine, waitForOutput } from './util.js';

async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: Error) => err.message);
  return text.split('\n').slice(-lines).join('\n');
}

export interface InspircdOptions {
  /** Load ircv3_accounttag (default true). Without it clients must track accounts themselves. */
  accountTag?: boolean;
  /** More modules to load: 'messageflood' (+f), 'botmode' (+B, BOT=B), 'ircv3_msgid', 'ircv3_ctctags', 'monitor'… */
  modules?: string[];
  /** More Atheme modules: 'nickserv/ghost' (GHOST), 'nickserv/enforce' (REGAIN, RELEASE)… */
  athemeModules?: string[];
}

export class InspircdAtheme {
  port = 0;
  linkPort = 0;
  private dir = '';
  private ircd: ChildProcess | undefined;
  private services: ChildProcess | undefined;

  constructor(private readonly options: InspircdOptions = {}) {}

  get host(): string {
    return '127.0.0.1';
  }

  async start(): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'virtbot-inspircd-'));
      for (const sub of ['data', 'logs', 'atheme']) await mkdir(join(this.dir, sub));
      this.port = await freePort();
      this.linkPort = await freePort();
      await writeFile(join(this.dir, 'inspircd.conf'), this.inspircdConfig());
      await writeFile(join(this.dir, 'atheme.conf'), this.athemeConfig());
    }
    // The log says so when the services link has completed and SASL can be offered. A fresh log
    // per start (removed before the ircd opens it).
    const log = join(this.dir, 'logs', 'inspircd.log');
    await rm(log, { force: true });
    const ircd = spawn(
      program('inspircd'),
      ['--nofork', '--runasroot', '--nopid', `--config=${join(this.dir, 'inspircd.conf')}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.ircd = ircd;
    ircd.on('error', () => {});
    const saslOnline = waitForFileLine(
      log,
      /SASL target server .* came online/,
      15_000,
      'Atheme link (SASL online)',
    );
    saslOnline.catch(() => {});
    await waitForOutput(ircd, /InspIRCd is now running/, 10_000, 'InspIRCd start-up');
    const atheme = join(this.dir, 'atheme');
    const services = spawn(
      program('atheme-services'),
      [
        '-n',
        '-c',
        join(this.dir, 'atheme.conf'),
        '-D',
        atheme,
        '-l',
        join(atheme, 'atheme.log'),
        '-p',
        join(atheme, 'atheme.pid'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.services = services;
    services.on('error', () => {});
    try {
      await saslOnline;
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- inspircd.log ---\n${await tail(log)}\n--- atheme.log ---\n${await tail(join(atheme, 'atheme.log'))}`,
      );
    }
  }

  /** Stops the ircd only (services keep retrying the link). */
  async stopIrcd(): Promise<void> {
    if (this.ircd) await stopProcess(this.ircd);
    this.ircd = undefined;
  }

  async dispose(): Promise<void> {
    if (this.services) await stopProcess(this.services);
    this.services = undefined;
    await this.stopIrcd();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private inspircdConfig(): string {
    const d = this.dir;
    const modules = [
      'cap',
      'ircv3',
      ...(this.options.accountTag === false ? [] : ['ircv3_accounttag']),
      'ircv3_servertime',
      'services_account',
      'sasl',
      'spanningtree',
      'hidechans',
      ...(this.options.modules ?? []),
    ];
    return `<path configdir="${d}" datadir="${d}/data" logdir="${d}/logs" moduledir="/usr/lib/inspircd/modules">
<server name="irc.test.local" description="virtbot test ircd" network="TestNet">
<admin name="admin" nick="admin" email="admin@test.local">
<bind address="127.0.0.1" port="${this.port}" type="clients">
<bind address="127.0.0.1" port="${this.linkPort}" type="servers">
<connect name="main" allow="*" maxchans="100" timeout="20" pingfreq="120"
         hardsendq="10M" softsendq="10M" recvq="10M" threshold="1000000" commandrate="1000000" fakelag="no"
         localmax="1000" globalmax="1000" maxconnwarn="off" useident="no" limit="5000" resolvehostnames="no" usednsbl="no">
<options prefixquit="" suffixquit="" fixedquit="" hostintopic="yes" defaultmodes="not">
<security announceinvites="dynamic" hideserver="" hidesplits="no" hideulines="no" customversion="" runasuser="" runasgroup="">
<performance netbuffersize="10240" somaxconn="128" softlimit="12800" clonesonconnect="no" timeskipwarn="2s" quietbursts="yes" nouserdns="yes">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxhost="64" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxgecos="128" maxaway="200">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="verbose" flush="1" target="inspircd.log">
<dns timeout="1">
${modules.map((m) => `<module name="${m}">`).join('\n')}
<sasl target="services.test.local" requiressl="no">
<link name="services.test.local" ipaddr="127.0.0.1" port="${this.linkPort}" allowmask="127.0.0.0/8" sendpass="linkpass" recvpass="linkpass">
<uline server="services.test.local" silent="yes">
`;
  }

  private athemeConfig(): string {
    return `loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/register";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/info";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
${(this.options.athemeModules ?? []).map((m) => `loadmodule "modules/${m}";`).join('\n')}
pbkdf2v2 { };
serverinfo {
  name = "services.test.local"; desc = "Atheme IRC Services"; numeric = "00A"; recontime = 1; netname = "TestNet";
  hidehostsuffix = "users.test"; adminname = "admin"; adminemail = "admin@test.local"; registeremail = "noreply@test.local";
  loglevel = { error; info; admin; network; }; maxlogins = 100; maxusers = 1000; mdlimit = 30; emaillimit = 10; emailtime = 300;
  auth = none; casemapping = rfc1459;
};
uplink "irc.test.local" { host = "127.0.0.1"; send_password = "linkpass"; receive_password = "linkpass"; port = ${this.linkPort}; };
nickserv { nick = "NickServ"; user = "NickServ"; host = "services.test.local"; real = "Nickname Services"; maxnicks = 5; expire = 0; };
saslserv { nick = "SaslServ"; user = "SaslServ"; host = "services.test.local"; real = "SASL Authentication Agent"; };
general {
  flood_msgs = 0; flood_time = 10; ratelimit_uses = 0; ratelimit_period = 0; kline_time = 7; commit_interval = 5;
  uplink_sendq_limit = 1048576; language = "en"; immune_level = immune;
};
`;
  }
}
