import type { HeartbeatSample, ProcessSample, SystemInfo } from '@farol/protocol';
import { FAROL_VERSION } from '@farol/protocol';
import type { RandomSource } from '../runtime/clock.js';

const GIB = 1024 ** 3;
const PROCESS_NAMES = ['postgres', 'node', 'nginx', 'java', 'python3', 'redis-server', 'dockerd', 'containerd', 'sshd', 'systemd'];

/** The slowly drifting state of one simulated machine, so its series look like a machine's. */
export interface SyntheticMachine {
  index: number;
  cores: number;
  memoryTotal: number;
  diskTotal: number;
  cpuBase: number;
  memoryBase: number;
  diskUsed: number;
  bootedAt: number;
}

/** A machine with plausible size and load, drawn from `random`. */
export function createSyntheticMachine(index: number, random: RandomSource, now: number): SyntheticMachine {
  const cores = [2, 4, 8, 16, 32][Math.floor(random() * 5)]!;
  const memoryTotal = cores * 2 * GIB;
  const diskTotal = [64, 128, 256, 512, 1024][Math.floor(random() * 5)]! * GIB;
  return {
    index,
    cores,
    memoryTotal,
    diskTotal,
    cpuBase: 5 + random() * 50,
    memoryBase: 20 + random() * 50,
    diskUsed: diskTotal * (0.2 + random() * 0.6),
    bootedAt: now - Math.floor(random() * 30 * 86_400_000),
  };
}

function clampPercent(value: number): number {
  return Math.round(Math.min(100, Math.max(0, value)) * 100) / 100;
}

function jitter(random: RandomSource, spread: number): number {
  return (random() - 0.5) * 2 * spread;
}

/** A plausible SystemInfo for a simulated machine. */
export function syntheticSystemInfo(machine: SyntheticMachine): SystemInfo {
  const third = Math.floor(machine.index / 250) % 256;
  const fourth = (machine.index % 250) + 1;
  return {
    hostname: `sim-${String(machine.index).padStart(5, '0')}`,
    os: 'linux',
    distro: 'Debian GNU/Linux',
    release: '12',
    kernel: '6.1.0-sim',
    arch: 'x64',
    cpuModel: 'Simulated CPU @ 2.40GHz',
    cpuCores: machine.cores,
    memoryTotal: machine.memoryTotal,
    agentVersion: FAROL_VERSION,
    ips: [
      { interface: 'eth0', address: `10.${Math.floor(machine.index / 62_500) % 256}.${third}.${fourth}`, family: 'IPv4', isTailscale: false },
      { interface: 'tailscale0', address: `100.${64 + (third % 64)}.${third}.${fourth}`, family: 'IPv4', isTailscale: true },
    ],
  };
}

/**
 * One heartbeat for a simulated machine at `ts`: valid per HeartbeatSampleSchema, shaped like a
 * real one (a few filesystems, two interfaces, top processes), about the same size on the wire.
 */
export function syntheticSample(machine: SyntheticMachine, ts: number, random: RandomSource): HeartbeatSample {
  const cpuTotal = clampPercent(machine.cpuBase + jitter(random, 10));
  const memoryUsed = Math.floor(machine.memoryTotal * (clampPercent(machine.memoryBase + jitter(random, 3)) / 100));
  const rx = Math.floor(random() * 5_000_000);
  const tx = Math.floor(random() * 2_000_000);
  const process = (rank: number): ProcessSample => {
    const name = PROCESS_NAMES[(machine.index + rank) % PROCESS_NAMES.length]!;
    const rss = Math.floor(machine.memoryTotal * (0.02 + random() * 0.1));
    return {
      pid: 1000 + rank * 37 + (machine.index % 1000),
      name,
      command: `/usr/bin/${name} --config /etc/${name}/${name}.conf`,
      user: rank % 2 === 0 ? 'root' : name,
      cpu: Math.round(random() * cpuTotal * 100) / 100,
      memory: clampPercent((rss / machine.memoryTotal) * 100),
      rss,
    };
  };
  const top = [0, 1, 2, 3, 4].map(process);
  return {
    ts,
    cpu: {
      total: cpuTotal,
      perCore: Array.from({ length: machine.cores }, () => clampPercent(cpuTotal + jitter(random, 15))),
      load: [
        Math.round(((cpuTotal / 100) * machine.cores + random()) * 100) / 100,
        Math.round(((machine.cpuBase / 100) * machine.cores) * 100) / 100,
        Math.round(((machine.cpuBase / 100) * machine.cores * 0.9) * 100) / 100,
      ],
    },
    memory: {
      total: machine.memoryTotal,
      used: memoryUsed,
      available: machine.memoryTotal - memoryUsed,
      percent: clampPercent((memoryUsed / machine.memoryTotal) * 100),
      swapTotal: 2 * GIB,
      swapUsed: 0,
      swapPercent: 0,
    },
    filesystems: [
      {
        mount: '/',
        device: '/dev/sda1',
        type: 'ext4',
        size: machine.diskTotal,
        used: Math.floor(machine.diskUsed),
        percent: clampPercent((machine.diskUsed / machine.diskTotal) * 100),
      },
      { mount: '/boot/efi', device: '/dev/sda15', type: 'vfat', size: 124_000_000, used: 12_000_000, percent: 9.68 },
    ],
    diskIo: { readBps: Math.floor(random() * 20_000_000), writeBps: Math.floor(random() * 10_000_000) },
    network: {
      rxBps: rx,
      txBps: tx,
      interfaces: [
        { name: 'eth0', rxBps: rx, txBps: tx },
        { name: 'tailscale0', rxBps: 0, txBps: 0 },
      ],
    },
    uptimeSeconds: Math.floor((ts - machine.bootedAt) / 1000),
    processCount: 150 + Math.floor(random() * 200),
    topCpu: top.toSorted((a, b) => b.cpu - a.cpu),
    topMemory: top.toSorted((a, b) => b.rss - a.rss),
    temperatures: { cpu: Math.round((40 + cpuTotal / 3) * 10) / 10, max: Math.round((45 + cpuTotal / 3) * 10) / 10 },
    gpus: [],
  };
}
