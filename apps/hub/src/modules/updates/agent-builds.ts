import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AgentVersionSchema, type AgentBuild, type UpdateArtifact } from '@farol/protocol';

/** Where update downloads are served; the file name follows. */
export const UPDATE_DOWNLOAD_PREFIX = '/download/updates/';

const EXE_NAME = /^farol-agent-(.+)-(linux|darwin|win)-(x64|arm64)(\.exe)?$/;
const BUNDLE_NAME = /^farol-agent-(.+)\.mjs$/;
const OWN_EXE_NAME = /^farol-agent-(linux|darwin|win)-(x64|arm64)(\.exe)?$/;

interface BuildFile extends UpdateArtifact {
  version: string;
  file: string;
}

export interface AgentBuildCatalog {
  /** Every build, newest files read again when they change; this hub's own version first. */
  list(): Promise<AgentBuild[]>;
  find(version: string): Promise<AgentBuild | undefined>;
  /** The file behind `/download/updates/<name>`, or undefined. */
  fileFor(name: string): Promise<string | undefined>;
}

/**
 * The agent builds a hub hands out: its own (the bundle it serves at /download/farol-agent.mjs,
 * and the one-file executables of FAROL_AGENT_EXE_DIR), plus `FAROL_AGENT_UPDATES_DIR`, a folder
 * of other versions named `farol-agent-<version>.mjs` and `farol-agent-<version>-<os>-<arch>`.
 * SHA-256 sums are computed from the files and kept while a file's size and mtime stay the same.
 */
export function createAgentBuildCatalog({ version, ownBundle, exeDir, updatesDir }: { version: string; ownBundle: string; exeDir: string | null; updatesDir: string | null }): AgentBuildCatalog {
  const sums = new Map<string, { key: string; sha256: string }>();

  async function describe(file: string, version_: string, platform: string, name: string): Promise<BuildFile | null> {
    const info = await stat(file).catch(() => null);
    if (!info?.isFile() || info.size === 0) return null;
    const key = `${info.size}:${info.mtimeMs}`;
    let sum = sums.get(file);
    if (sum?.key !== key) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      sum = { key, sha256: hash.digest('hex') };
      sums.set(file, sum);
    }
    return { version: version_, platform, sha256: sum.sha256, size: info.size, path: `${UPDATE_DOWNLOAD_PREFIX}${name}`, file };
  }

  async function filesOf(dir: string | null): Promise<string[]> {
    if (!dir) return [];
    return readdir(dir).catch(() => []);
  }

  async function all(): Promise<BuildFile[]> {
    const found: Array<Promise<BuildFile | null>> = [describe(ownBundle, version, 'node', `farol-agent-${version}.mjs`)];
    for (const name of await filesOf(exeDir)) {
      const match = OWN_EXE_NAME.exec(name);
      if (match) found.push(describe(path.join(exeDir!, name), version, `${match[1]!}-${match[2]!}`, `farol-agent-${version}-${match[1]!}-${match[2]!}${match[3] ?? ''}`));
    }
    for (const name of await filesOf(updatesDir)) {
      const exe = EXE_NAME.exec(name);
      const bundle = exe ? null : BUNDLE_NAME.exec(name);
      const buildVersion = exe?.[1] ?? bundle?.[1];
      // The own version is served from the hub's own files, never shadowed by a copy.
      if (!buildVersion || buildVersion === version || !AgentVersionSchema.safeParse(buildVersion).success) continue;
      found.push(describe(path.join(updatesDir!, name), buildVersion, exe ? `${exe[2]!}-${exe[3]!}` : 'node', name));
    }
    return (await Promise.all(found)).filter((build): build is BuildFile => build !== null);
  }

  function group(files: BuildFile[]): AgentBuild[] {
    const byVersion = new Map<string, AgentBuild>();
    for (const { version: v, file: _file, ...artifact } of files) {
      const build = byVersion.get(v) ?? { version: v, artifacts: [], own: v === version };
      build.artifacts.push(artifact);
      byVersion.set(v, build);
    }
    return [...byVersion.values()].sort((a, b) => Number(b.own) - Number(a.own) || b.version.localeCompare(a.version, 'en', { numeric: true }));
  }

  return {
    list: async () => group(await all()),
    find: async (wanted) => group(await all()).find((build) => build.version === wanted),
    fileFor: async (name) => (await all()).find((build) => build.path === `${UPDATE_DOWNLOAD_PREFIX}${name}`)?.file,
  };
}
