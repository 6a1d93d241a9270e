/** Hostile fragments for the fuzz and injection suites. */
export const HOSTILE: readonly string[] = [
  ';',
  '; virsh destroy test',
  '\n',
  '\r\n',
  'a\nvm delete test',
  '$(reboot)',
  '`id`',
  '|',
  '||',
  '&&',
  '&',
  '>',
  '<',
  '>>/etc/passwd',
  '"',
  "'",
  '\\',
  '"; rm -rf / #',
  "'; DROP TABLE vms; --",
  '<domain>',
  '&amp;',
  '&',
  ']]>',
  '<![CDATA[',
  '<!ENTITY x SYSTEM "file:///etc/passwd">',
  '"/><evil/>',
  'а', // Cyrillic a
  'ԝеb01', // homoglyphs of web01
  'web０１', // full-width digits
  '\u202e', // right-to-left override
  '\u2066',
  '\u200b', // zero width space
  '\ufeff',
  '\u0003', // IRC colour
  '\u000304,01red',
  '\u0002', // bold
  '\u000f',
  '\u0016',
  '\u001d',
  '\u0001ACTION x\u0001',
  '\u0000',
  '\u007f',
  '\ud800', // lone surrogate
  '../../etc/passwd',
  '/../',
  '--force',
  '--',
  '=',
  'key=',
  '=value',
  '*',
  '?',
  '%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  '${HOME}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'x'.repeat(10_000),
];
