import { z } from 'zod';

// zod compiles validators with `new Function` unless told not to, and probes for it the first
// time a schema parses. The CSP (script-src 'self', no 'unsafe-eval') forbids that, and the
// probe alone would be reported as a violation. Imported first by main.tsx, so it runs before
// any module that builds or uses a schema.
z.config({ jitless: true });
