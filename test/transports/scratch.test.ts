import { test } from 'vitest';
import { InspircdAtheme } from '../harness/inspircd.js';
test('scratch', async () => {
  for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  const s = new InspircdAtheme();
  try { await s.start(); console.log('up', s.port, Date.now()-t0); } catch (e) { console.log('FAIL', (s as any).dir); (s as any).dir = ''; } finally { await s.dispose(); }
  }
}, 60000);
