/** Lines said by mallory (not a chair) in the hostile-text tests: markup, entities, IRC codes, huge lines. */
export const LONG_LINE = `#info ${'A'.repeat(10_000)}`;
export const LONG_ENTITIES = `#idea ${'x&<"'.repeat(2_600)}`;

export const HOSTILE_LINES: string[] = [
  `#info <script>window.__pwned=true</script> & "double" 'single' &amp; &lt;`,
  '#action mallory to fix <b>bold</b> & <img src=x onerror="window.__pwned=true">',
  '#info \x0304,01red on black\x03 and \x02bold\x02 \x1funder\x1f \x1ditalic\x1d \x16rev\x16 \x0fplain \x0399 \x04ff0000hex\x04 \x01ACTION ctcp\x01',
  '#link javascript:window.__pwned=true',
  '#link https://example.org/?a=1&b="2"<i>x</i>',
  '#info data:text/html,<script>window.__pwned=true</script>',
  '#info mailto:someone@example.org?subject=<hi>',
  'https://example.org/a?q=<script>window.__pwned=true</script>',
  '#info </style></title><script>window.__pwned=true</script><style>',
  '#info ]]> <!-- --> <![CDATA[ x ]]> &#x3C;script&#x3E;',
  '#info Ünïcødé ✓ 😀 \u202eRTL override\u202c and a lone surrogate \ud800 end',
  LONG_LINE,
  LONG_ENTITIES,
];
