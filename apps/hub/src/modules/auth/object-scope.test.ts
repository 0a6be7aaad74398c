import { describe, expect, it } from 'vitest';
import { FarolError } from '@farol/protocol';
import { checkRelabel, labelsInScope, narrowToScope, ruleScopeInScope, outsideScope, secretInScope, selectorWithinScope, webhookInScope } from './object-scope.js';

const staging = { scope: 'env=staging' };
const notProd = { scope: 'env!=prod' };
const everyone = { scope: null };

describe('object scope rules (#11)', () => {
  it('keeps a secret for every machine, or for another scope, away from a scoped user', () => {
    expect(secretInScope(staging, '*')).toBe(false);
    expect(secretInScope(staging, 'env=prod')).toBe(false);
    expect(secretInScope(staging, 'role=db')).toBe(false);
    expect(secretInScope(staging, 'env=staging')).toBe(true);
    expect(secretInScope(staging, 'env=staging,role=db')).toBe(true);
    expect(secretInScope(everyone, '*')).toBe(true);
  });

  it('treats a selector as within a scope only when it implies every term of it', () => {
    expect(selectorWithinScope(staging, 'role=db')).toBe(false);
    expect(selectorWithinScope(staging, 'env!=staging')).toBe(false);
    expect(selectorWithinScope(staging, undefined)).toBe(false);
    expect(selectorWithinScope(staging, 'env=staging;drop')).toBe(false);
    expect(selectorWithinScope(notProd, 'env=staging')).toBe(true);
    expect(selectorWithinScope(notProd, 'env=prod')).toBe(false);
    expect(selectorWithinScope(notProd, 'env!=prod,role=db')).toBe(true);
  });

  it('refuses a relabel that takes a machine out of the scope, or one that starts outside it', () => {
    expect(() => checkRelabel(staging, { env: 'staging' }, { env: 'staging', role: 'db' })).not.toThrow();
    expect(() => checkRelabel(staging, { env: 'staging' }, { env: 'prod' })).toThrow(FarolError);
    expect(() => checkRelabel(staging, { env: 'prod' }, { env: 'staging' })).toThrow(FarolError);
    expect(() => checkRelabel(everyone, { env: 'prod' }, { env: 'dev' })).not.toThrow();
  });

  it('narrows what a scoped user creates to their scope, and leaves an unscoped user\'s as given', () => {
    expect(narrowToScope(staging, undefined)).toBe('env=staging');
    expect(narrowToScope(staging, 'role=db')).toBe('env=staging,role=db');
    expect(narrowToScope(staging, 'env=staging,role=db')).toBe('env=staging,role=db');
    expect(narrowToScope(everyone, undefined)).toBeUndefined();
    expect(webhookInScope(staging, {})).toBe(false);
    expect(webhookInScope(staging, { labels: narrowToScope(staging, 'env=prod') })).toBe(true);
  });

  it('counts fleet-wide alert rules out of a scope and checks named machines as they are', async () => {
    expect(await ruleScopeInScope(staging, { all: true }, async () => true)).toBe(false);
    expect(await ruleScopeInScope(staging, { selector: 'env=prod' }, async () => true)).toBe(false);
    expect(await ruleScopeInScope(staging, { selector: 'env=staging,role=db' }, async () => false)).toBe(true);
    expect(await ruleScopeInScope(staging, { agents: ['web-1'] }, async () => false)).toBe(false);
    expect(await ruleScopeInScope(everyone, { all: true }, async () => false)).toBe(true);
  });

  it('refuses without naming the machine (names-leak, #11)', () => {
    expect(outsideScope(staging).message).toBe('this machine is outside your scope (env=staging)');
    expect(labelsInScope({ scope: 'bad term!' }, {})).toBe(false);
  });
});
