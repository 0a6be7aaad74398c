import { describe, expect, it } from 'vitest';
import { claimValues, grantFor, hasClaim, OidcRoleMapError, parseRoleMap, unknownRoles } from './oidc-role-map.js';

const MAP = `
- match: farol-admins
  role: admin
- match: staging-ops
  role: operator
  scope: env=staging
- match: everyone
  role: viewer
`;

function problemsOf(text: string): string[] {
  try {
    parseRoleMap(text, 'FAROL_OIDC_ROLE_MAP');
  } catch (error) {
    if (error instanceof OidcRoleMapError) return error.problems;
    throw error;
  }
  return [];
}

describe('single sign-on role mapping (issue #20)', () => {
  it('reads YAML and JSON alike', () => {
    const yaml = parseRoleMap(MAP, 'map');
    const json = parseRoleMap(JSON.stringify([{ match: 'farol-admins', role: 'admin' }, { match: 'staging-ops', role: 'operator', scope: 'env=staging' }, { match: 'everyone', role: 'viewer' }]), 'map');
    expect(json).toEqual(yaml);
    expect(yaml[1]).toEqual({ match: 'staging-ops', role: 'operator', scope: 'env=staging' });
  });

  it('gives the first rule a group matches, with its scope', () => {
    const rules = parseRoleMap(MAP, 'map');
    expect(grantFor(rules, ['staging-ops', 'everyone'])).toEqual({ role: 'operator', scope: 'env=staging', matched: 'staging-ops' });
    expect(grantFor(rules, ['everyone', 'farol-admins'])).toEqual({ role: 'admin', scope: null, matched: 'farol-admins' });
    expect(grantFor(rules, ['everyone'])).toEqual({ role: 'viewer', scope: null, matched: 'everyone' });
  });

  it('refuses someone no rule matches, and matches anyone with *', () => {
    const rules = parseRoleMap(MAP, 'map');
    expect(grantFor(rules, ['sales'])).toBeNull();
    expect(grantFor(rules, [])).toBeNull();
    expect(grantFor(parseRoleMap('[{"match":"*","role":"viewer"}]', 'map'), [])).toEqual({ role: 'viewer', scope: null, matched: '*' });
  });

  it('matches values exactly, not by prefix or case', () => {
    const rules = parseRoleMap(MAP, 'map');
    expect(grantFor(rules, ['farol-admins-old', 'Farol-Admins', 'farol'])).toBeNull();
  });

  it('reads string, list and nested claims', () => {
    const claims = { groups: ['a', 'b', 3, { x: 1 }], role: 'ops', realm_access: { roles: ['admin'] }, 'https://example.com/roles': ['r1'] };
    expect(claimValues(claims, 'groups')).toEqual(['a', 'b', '3']);
    expect(claimValues(claims, 'role')).toEqual(['ops']);
    expect(claimValues(claims, 'realm_access.roles')).toEqual(['admin']);
    expect(claimValues(claims, 'https://example.com/roles')).toEqual(['r1']);
    expect(claimValues(claims, 'missing')).toEqual([]);
    expect(claimValues(claims, 'realm_access.missing')).toEqual([]);
    expect(hasClaim(claims, 'realm_access.roles')).toBe(true);
    expect(hasClaim(claims, 'groups')).toBe(true);
    expect(hasClaim(claims, 'roles')).toBe(false);
  });

  it('lists every problem of a bad mapping, each with its place', () => {
    expect(problemsOf('[]')).toEqual([expect.stringContaining('at least one rule')]);
    expect(problemsOf('{ "farol-admins": "admin" }')[0]).toMatch(/^FAROL_OIDC_ROLE_MAP: /);
    expect(problemsOf('- match: x\n  role: Admin!\n- role: viewer\n- match: y\n  role: viewer\n  extra: 1')).toEqual([
      expect.stringMatching(/\[0\.role\]: role names are/),
      expect.stringMatching(/\[1\.match\]/),
      expect.stringMatching(/\[2\]: .*extra/i),
    ]);
    expect(problemsOf('- match: x\n  role: operator\n  scope: "env=="')).toEqual([expect.stringMatching(/\[0\.scope\]/)]);
    expect(problemsOf('[unclosed')).toEqual([expect.stringMatching(/not JSON or YAML/)]);
  });

  it('names rules whose role does not exist', () => {
    const rules = parseRoleMap('- match: a\n  role: admin\n- match: b\n  role: auditors', 'file.yaml');
    expect(unknownRoles(rules, (name) => name === 'admin', 'file.yaml')).toEqual(['file.yaml [1.role]: no role auditors (create it first, or use viewer, operator or admin)']);
  });
});
