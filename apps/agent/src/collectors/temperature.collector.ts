import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HeartbeatSample } from '@farol/protocol';
import { loadSystemInformation, round2, type Collector, type CollectorSource } from './collector.js';

export type TemperatureReading = HeartbeatSample['temperatures'];

/** hwmon drivers and thermal zones that measure the CPU package. */
const CPU_SENSOR_NAMES = /^(coretemp|k10temp|zenpower|cpu_thermal|cpu-thermal|soc_thermal|x86_pkg_temp|cpu-thermal0|acpitz)$/;
/** The package-level label of multi-sensor CPU drivers, preferred over per-core readings. */
const PACKAGE_LABEL = /^(Package id \d+|Tctl|Tdie|CPU)$/i;

/** Readings outside this range are disconnected sensors reporting garbage (-128, 255 …). */
function isPlausible(celsius: number): boolean {
  return Number.isFinite(celsius) && celsius > -40 && celsius < 150;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    // Sensors without a label file, or that fail to read (EIO, ENODATA) on some boards: skip them.
    if (error instanceof Error && 'code' in error) return null;
    throw error;
  }
}

interface SensorReading {
  celsius: number;
  isCpu: boolean;
  isPackage: boolean;
}

async function readHwmon(root: string): Promise<SensorReading[]> {
  const readings: SensorReading[] = [];
  const chips = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []; // containers and VMs often have no hwmon at all
    throw error;
  });
  for (const chip of chips) {
    const dir = path.join(root, chip);
    const name = (await readOptional(path.join(dir, 'name'))) ?? '';
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files) {
      const match = /^temp(\d+)_input$/.exec(file);
      if (!match) continue;
      const raw = await readOptional(path.join(dir, file));
      const celsius = raw === null ? NaN : Number(raw) / 1000;
      if (!isPlausible(celsius)) continue;
      const label = (await readOptional(path.join(dir, `temp${match[1]}_label`))) ?? '';
      readings.push({ celsius, isCpu: CPU_SENSOR_NAMES.test(name), isPackage: PACKAGE_LABEL.test(label) });
    }
  }
  return readings;
}

async function readThermalZones(root: string): Promise<SensorReading[]> {
  const readings: SensorReading[] = [];
  const zones = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const zone of zones.filter((z) => z.startsWith('thermal_zone'))) {
    const type = (await readOptional(path.join(root, zone, 'type'))) ?? '';
    const raw = await readOptional(path.join(root, zone, 'temp'));
    const celsius = raw === null ? NaN : Number(raw) / 1000;
    if (isPlausible(celsius)) readings.push({ celsius, isCpu: CPU_SENSOR_NAMES.test(type), isPackage: false });
  }
  return readings;
}

/** Picks the CPU figure (package sensor first) and the hottest sensor of all. */
export function summarizeTemperatures(readings: SensorReading[]): TemperatureReading {
  if (readings.length === 0) return null;
  const cpu = readings.find((r) => r.isCpu && r.isPackage) ?? readings.find((r) => r.isCpu);
  const max = Math.max(...readings.map((r) => r.celsius));
  return { cpu: cpu ? round2(cpu.celsius) : null, max: round2(max) };
}

/** CPU and hottest-sensor temperatures in °C; null where the machine exposes no sensors. */
export function createTemperatureCollector(source: CollectorSource, sysRoot = '/sys/class'): Collector<TemperatureReading> {
  return {
    name: 'temperatures',
    fallback: null,
    async collect() {
      if (source === 'procfs') {
        const hwmon = await readHwmon(path.join(sysRoot, 'hwmon'));
        // Thermal zones duplicate hwmon on most PCs; use them only when hwmon has nothing (ARM boards).
        return summarizeTemperatures(hwmon.length > 0 ? hwmon : await readThermalZones(path.join(sysRoot, 'thermal')));
      }
      const si = await loadSystemInformation();
      const data = await si.cpuTemperature();
      const cpu = isPlausible(data.main) && data.main !== 0 ? round2(data.main) : null;
      const max = isPlausible(data.max) && data.max !== 0 ? round2(data.max) : cpu;
      return cpu === null && max === null ? null : { cpu, max };
    },
  };
}
