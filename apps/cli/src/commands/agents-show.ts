import type { Agent, HeartbeatSample, ProcessSample, SystemInfo } from '@farol/protocol';
import { Command } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import {
  formatBytes,
  formatJson,
  formatLabels,
  formatPercent,
  formatRate,
  formatRelative,
  formatTimestamp,
  formatUptime,
  MISSING,
} from '../output/format.js';
import { renderFields, renderTable } from '../output/table.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol agents show NAME|ID`: everything the hub knows about one machine. */
export function createAgentsShowCommand(context: CliContext): Command {
  const command = new Command('show')
    .description('show one agent: system, addresses, latest metrics, filesystems, top processes, GPUs')
    .argument('<agent>', 'agent name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const agent = await aboutAgent(ref, context, () => client.getAgent(ref));
    context.stdout(connection.json ? formatJson(agent) : renderAgentDetails(agent, context.now()));
  });
  return command;
}

/** The human-readable page of `farol agents show`. */
export function renderAgentDetails(agent: Agent, now: number): string {
  const sections = [
    renderFields([
      ['name', agent.name],
      ['id', agent.id],
      ['status', `${agent.status} (last seen ${formatRelative(agent.lastSeen, now)})`],
      // Several hubs (issue #14): the one holding the machine's connection.
      ['hub', agent.hub ?? undefined],
      ['hostname', agent.hostname],
      ['labels', formatLabels(agent.labels)],
      ['enrolled', formatTimestamp(agent.createdAt)],
      ['heartbeat', agent.heartbeatIntervalMs === null ? undefined : `every ${agent.heartbeatIntervalMs / 1000}s`],
      ['key', agent.keyFingerprint],
    ]),
  ];
  if (agent.system) sections.push(renderSystem(agent.system));
  if (agent.latest) sections.push(...renderSample(agent.latest, now));
  else sections.push('No metrics received yet.\n');
  return sections.join('\n');
}

function renderSystem(system: SystemInfo): string {
  const ips =
    system.ips.length === 0
      ? '  (none reported)\n'
      : indent(renderTable(['INTERFACE', 'ADDRESS', ''], system.ips.map((ip) => [ip.interface, ip.address, ip.isTailscale ? 'tailscale' : ''])));
  return (
    'System\n' +
    renderFields(
      [
        ['os', [system.distro || system.os, system.release, `(${system.os} ${system.arch})`].filter(Boolean).join(' ')],
        ['kernel', system.kernel || MISSING],
        ['cpu', `${system.cpuModel || 'unknown model'}, ${system.cpuCores} cores`],
        ['memory', formatBytes(system.memoryTotal)],
        ['agent', system.agentVersion],
      ],
      2,
    ) +
    '\nAddresses\n' +
    ips
  );
}

function renderSample(sample: HeartbeatSample, now: number): string[] {
  const load = sample.cpu.load ? ` (load ${sample.cpu.load.map((l) => l.toFixed(2)).join(' ')})` : '';
  const mem = sample.memory;
  const memory = mem
    ? `${formatPercent(mem.percent, 1)} (${formatBytes(mem.used)} of ${formatBytes(mem.total)}), ` +
      `swap ${formatPercent(mem.swapPercent, 1)}`
    : MISSING;
  const temperature = sample.temperatures
    ? [sample.temperatures.cpu, sample.temperatures.max].some((t) => t !== null)
      ? `cpu ${sample.temperatures.cpu ?? MISSING}°C, max ${sample.temperatures.max ?? MISSING}°C`
      : undefined
    : undefined;
  const sections = [
    `Latest metrics (${formatRelative(sample.ts, now)})\n` +
      renderFields(
        [
          ['cpu', `${formatPercent(sample.cpu.total, 1)}${load}`],
          ['memory', memory],
          ['disk io', sample.diskIo ? `read ${formatRate(sample.diskIo.readBps)}, write ${formatRate(sample.diskIo.writeBps)}` : undefined],
          ['network', sample.network ? `in ${formatRate(sample.network.rxBps)}, out ${formatRate(sample.network.txBps)}` : undefined],
          ['uptime', sample.uptimeSeconds === null ? undefined : formatUptime(sample.uptimeSeconds)],
          ['processes', sample.processCount === null ? undefined : String(sample.processCount)],
          ['temperature', temperature],
        ],
        2,
      ),
  ];
  if (sample.filesystems.length > 0) {
    sections.push(
      'Filesystems\n' +
        indent(
          renderTable(
            ['MOUNT', 'DEVICE', 'TYPE', 'SIZE', 'USED', 'USE%'],
            sample.filesystems.map((fs) => [fs.mount, fs.device, fs.type, formatBytes(fs.size), formatBytes(fs.used), formatPercent(fs.percent)]),
          ),
        ),
    );
  }
  if (sample.topCpu.length > 0) sections.push('Top processes by CPU\n' + indent(renderProcesses(sample.topCpu)));
  if (sample.topMemory.length > 0) sections.push('Top processes by memory\n' + indent(renderProcesses(sample.topMemory)));
  if (sample.gpus.length > 0) {
    sections.push(
      'GPUs\n' +
        indent(
          renderTable(
            ['#', 'NAME', 'UTIL', 'MEMORY', 'TEMP', 'POWER'],
            sample.gpus.map((gpu) => [
              String(gpu.index),
              gpu.name,
              formatPercent(gpu.utilization),
              gpu.memoryUsed === null ? MISSING : `${formatBytes(gpu.memoryUsed)} / ${formatBytes(gpu.memoryTotal)}`,
              gpu.temperature === null ? MISSING : `${gpu.temperature}°C`,
              gpu.powerWatts === null ? MISSING : `${gpu.powerWatts.toFixed(0)} W`,
            ]),
          ),
        ),
    );
  }
  return sections;
}

function renderProcesses(processes: readonly ProcessSample[]): string {
  return renderTable(
    ['PID', 'NAME', 'USER', 'CPU', 'MEM', 'RSS'],
    processes.map((p) => [String(p.pid), p.name, p.user ?? MISSING, formatPercent(p.cpu, 1), formatPercent(p.memory, 1), formatBytes(p.rss)]),
  );
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
