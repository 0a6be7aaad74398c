import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import installPs1 from './install.ps1';
import installSh from './install.sh';
import { HUB_URL_PLACEHOLDER, renderInstallScript } from './install.service.js';

const run = promisify(execFile);

describe('renderInstallScript', () => {
  it('fills the hub URL into both scripts and leaves no placeholder behind', () => {
    for (const template of [installSh, installPs1]) {
      const script = renderInstallScript(template, 'https://hub.example:8443/');
      expect(script).not.toContain(HUB_URL_PLACEHOLDER);
      expect(script).toContain("'https://hub.example:8443'");
    }
  });

  it('keeps a path prefix of the hub URL', () => {
    expect(renderInstallScript(installSh, 'http://10.0.0.5:8080/farol')).toContain("FAROL_DEFAULT_HUB='http://10.0.0.5:8080/farol'");
  });

  it.each([
    ['a quote', "http://hub.example/'; rm -rf / #"],
    ['a double quote', 'http://hub.example/"x'],
    ['a space', 'http://hub.example/a b'],
    ['a backtick', 'http://hub.example/`id`'],
    ['a dollar sign', 'http://hub.example/$(id)'],
    ['a newline', 'http://hub.example/\nid'],
    ['a backslash', 'http://hub.example\\x'],
    ['another scheme', 'ftp://hub.example'],
    ['no scheme', 'hub.example:8080'],
    ['credentials', 'http://user:pass@hub.example'],
    ['a query', 'http://hub.example/?x=1'],
  ])('refuses a hub URL with %s', (_what, url) => {
    expect(() => renderInstallScript(installSh, url)).toThrow();
  });

  it('refuses a template without the placeholder', () => {
    expect(() => renderInstallScript('echo hi', 'http://hub.example')).toThrow(/no __FAROL_HUB_URL__/);
  });
});

describe('install.ps1', () => {
  it('takes the token, hub, name, prefix and state as parameters and registers a startup task', () => {
    const script = renderInstallScript(installPs1, 'http://hub.example');
    expect(script).toMatch(/\[Parameter\(Mandatory = \$true\)\]\[string\]\$Token/);
    for (const parameter of ['$Hub', '$Name', '$Prefix', '$State']) expect(script).toContain(`[string]${parameter}`);
    expect(script).toContain("& $node @enrollArgs");
    expect(script).toContain('New-ScheduledTaskTrigger -AtStartup');
    // `exit` would close the operator's PowerShell window: the script block must throw instead.
    expect(script).not.toMatch(/^\s*exit\b/m);
  });
});

describe('install.sh', () => {
  it('parses under sh and dash', async () => {
    const script = renderInstallScript(installSh, 'http://hub.example');
    for (const shell of ['sh', 'dash']) {
      await expect(run(shell, ['-n', '-c', script])).resolves.toMatchObject({ stderr: '' });
    }
  });

  it('uses no bash-only syntax', () => {
    expect(installSh).not.toMatch(/\[\[|\bfunction\s+\w+|\blocal\s|\$\{[^}]*\/\/|<<<|\bsource\s/);
  });
});
