// zod compiles validators with `new Function` unless told not to, and probes for it the first
// time a schema parses; the CSP (script-src 'self', no 'unsafe-eval') forbids both, and the probe
// alone is reported as a violation. zod reads this global when its module first runs, so setting
// it here, before any bundle chunk, holds whatever order the chunks evaluate in (a schema parsed
// at module level in a shared chunk would otherwise run before src/app/zod-jitless.ts).
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });
