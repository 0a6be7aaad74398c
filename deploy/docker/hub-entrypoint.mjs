#!/usr/bin/env node
// The hub image's entry point (deploy/docker/hub.Dockerfile): what `farol hub` runs, without the
// CLI around it. Settings come from FAROL_* variables (docs/configuration.md).
const { runHub } = await import('../apps/hub/dist/hub.mjs');
await runHub();
