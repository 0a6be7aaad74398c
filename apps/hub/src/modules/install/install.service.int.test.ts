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
    expect(script).toContain('if ($useExe) { & $exe @enrollArgs } else { & $node $bundle @enrollArgs }');
    expect(script).toContain('New-ScheduledTaskTrigger -AtStartup');
    // `exit` would close the operator's PowerShell window: the script block must throw instead.
    expect(script).not.toMatch(/^\s*exit\b/m);
  });

  // No pwsh here: the Windows path is checked by its structure (issue #15 item 2).
  it('prefers the one-file win-x64 agent: checks its SHA-256 before anything is replaced, and only then stops the old agent and swaps it in', () => {
    const script = renderInstallScript(installPs1, 'http://hub.example');
    expect(script).toContain("[ValidateSet('auto', 'exe', 'node')][string]$Runtime = 'auto'");
    expect(script).toContain('$exeUrl = "$downloadHub/download/farol-agent-win-x64"');
    const at = (text: string): number => {
      const index = script.indexOf(text);
      expect(index, text).toBeGreaterThan(-1);
      return index;
    };
    const sumRead = at('Invoke-WebRequest -UseBasicParsing -Uri "$exeUrl.sha256"');
    const download = at('Invoke-WebRequest -UseBasicParsing -Uri $exeUrl -OutFile "$exe.download"');
    const hash = at('(Get-FileHash -Algorithm SHA256 -Path "$exe.download").Hash.ToLowerInvariant()');
    const refuse = at('throw "farol: the downloaded agent\'s SHA-256 is $actual, the hub says $expected; nothing was installed"');
    const stop = script.indexOf('Stop-FarolAgent', at('$actual -ne $expected'));
    const swap = at('Move-Item -Force -Path "$exe.download" -Destination $exe');
    expect(sumRead < download && download < hash && hash < refuse && refuse < stop && stop < swap).toBe(true);
    expect(script).toMatch(/\$expected -notmatch '\^\[0-9a-f\]\{64\}\$'/);
    // Node.js is looked for only when the executable is not used.
    expect(at('if (-not $useExe) {')).toBeLessThan(at('$nodeCommand = Get-Command node'));
    // The task runs whichever program was installed, as SYSTEM, relaunched when it exits.
    expect(script).toContain('$runnerProgram = if ($useExe) { "\'$($exe.Replace("\'", "\'\'"))\'" }');
    expect(script).toContain('& $runnerProgram run --state');
    expect(script).toContain("New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount");
    // A Windows service cannot host node.exe or the one-file agent (no SCM protocol): none is made.
    const code = script.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
    expect(code).not.toMatch(/New-Service|sc\.exe\s+create/i);
    // It says plainly that it cannot check the hub's signature (ADR 0024).
    expect(script.match(/Write-Warning "farol: [^"]*hub's signature[^"]*ADR 0024/g)).toHaveLength(2);
  });

  it('has balanced braces, brackets and parentheses outside comments, and every here-string closed', () => {
    const script = renderInstallScript(installPs1, 'http://hub.example');
    const code = script
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    for (const [open, close] of [['{', '}'], ['(', ')'], ['[', ']']] as const) {
      expect(code.split(open).length, `${open}${close}`).toBe(code.split(close).length);
    }
    expect(code.match(/@"$/gm)?.length).toBe(code.match(/^"@/gm)?.length);
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
