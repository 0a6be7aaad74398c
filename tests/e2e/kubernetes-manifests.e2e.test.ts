import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { root } from './support/processes.js';

// deploy/kubernetes (issue #15, ADR 0019): rendered by kubectl's own kustomize (no cluster
// needed) and every object checked against the Kubernetes OpenAPI schemas through
// kubernetes-models, then the parts Farol depends on: probes, ports, WebSocket timeouts, the
// agent's host mounts, and an HA overlay that refuses to render without its settings.

const run = promisify(execFile);

function kubectlPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    try {
      accessSync(path.join(dir, 'kubectl'), constants.X_OK);
      return path.join(dir, 'kubectl');
    } catch {
      // Not in this directory.
    }
  }
  return null;
}
const kubectl = kubectlPath();
if (!kubectl && process.env.CI) throw new Error('kubectl is needed for the Kubernetes manifest tests: CI must provide it');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> } } & Record<string, unknown>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

async function render(dir: string): Promise<Manifest[]> {
  const { stdout } = await run(kubectl!, ['kustomize', dir], { maxBuffer: 8 * 1024 * 1024 });
  const objects = parseAllDocuments(stdout).map((doc) => doc.toJS() as Manifest);
  for (const object of objects) {
    // kustomize folds long base64 values over lines; the API server's decoder skips the newlines.
    if (object.kind === 'Secret' && object.data) {
      object.data = Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')]));
    }
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!Model) throw new Error(`no schema check for ${object.apiVersion} ${object.kind}`);
    // Throws with the path of the first field that breaks the schema.
    new Model(object as never).validate();
  }
  return objects;
}

const find = <T,>(objects: Manifest[], kind: string, name: string): T => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  if (!object) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return object as unknown as T;
};

describe.skipIf(kubectl === null)('Kubernetes manifests (kubectl kustomize, kubernetes-models schemas)', () => {
  const temp = mkdtempSync(path.join(tmpdir(), 'farol-k8s-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('renders the base: a hub with probes, resources, a PDB, a Service and an Ingress; an agent on every node', async () => {
    const objects = await render(path.join(root, 'deploy/kubernetes/base'));
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Deployment', 'Ingress', 'Namespace', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service']);

    const hub = find<Deployment>(objects, 'Deployment', 'farol-hub');
    expect(hub.spec!.replicas).toBe(1);
    expect(hub.spec!.strategy!.type).toBe('Recreate');
    const pod = hub.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    const container = pod.containers[0]!;
    expect(container.image).toBe('ghcr.io/farol-dev/farol-hub:latest');
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.startupProbe!.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.resources!.limits!.memory).toBe('256Mi');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'FAROL_BIND', value: '0.0.0.0' }, { name: 'FAROL_DATA_DIR', value: '/data' }]));
    // The generated ConfigMap's hashed name is what the pod reads.
    const config = find<ConfigMap>(objects, 'ConfigMap', 'farol-hub');
    expect(container.envFrom).toEqual([{ configMapRef: { name: config.metadata!.name } }]);
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'farol-hub-data' } });

    const service = find<Service>(objects, 'Service', 'farol-hub');
    expect(service.spec!.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http' }]);
    expect(service.spec!.selector).toEqual(hub.spec!.selector.matchLabels);
    const pdb = find<PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'farol-hub');
    expect(pdb.spec!.selector!.matchLabels).toEqual(hub.spec!.selector.matchLabels);

    // WebSockets: the proxy must hold an idle socket longer than a Socket.IO ping (25 s + 20 s)
    // and the longest heartbeat interval an agent may use (5 min).
    const ingress = find<Ingress>(objects, 'Ingress', 'farol-hub');
    const annotations = ingress.metadata!.annotations!;
    for (const key of ['nginx.ingress.kubernetes.io/proxy-read-timeout', 'nginx.ingress.kubernetes.io/proxy-send-timeout']) {
      expect(Number(annotations[key])).toBeGreaterThan(300);
    }
    expect(ingress.spec!.rules![0]!.http!.paths[0]!.backend.service).toEqual({ name: 'farol-hub', port: { name: 'http' } });

    const agent = find<DaemonSet>(objects, 'DaemonSet', 'farol-agent');
    const agentPod = agent.spec!.template.spec!;
    expect(agentPod).toMatchObject({ hostPID: true, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', tolerations: [{ operator: 'Exists' }] });
    const agentContainer = agentPod.containers[0]!;
    expect(agentContainer.image).toBe('ghcr.io/farol-dev/farol-agent:latest');
    expect(agentContainer.env).toContainEqual({ name: 'FAROL_HUB_URL', value: 'http://farol-hub.farol.svc:8080' });
    const mounts = Object.fromEntries(agentContainer.volumeMounts!.map((m) => [m.mountPath, m]));
    for (const hostPath of ['/host', '/host/proc', '/host/sys']) expect(mounts[hostPath]?.readOnly).toBe(true);
    expect(mounts['/var/lib/farol-agent']?.readOnly).toBeUndefined();
    expect(agentContainer.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(agentContainer.securityContext!.privileged).toBeUndefined();
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) expect((object as { metadata: { namespace?: string } }).metadata.namespace).toBe('farol');
  });

  it('refuses to render the HA overlay without its settings, naming the missing file', async () => {
    const failure = await render(path.join(root, 'deploy/kubernetes/overlays/ha')).then(
      () => null,
      (error: Error & { stderr?: string }) => error.stderr ?? error.message,
    );
    expect(failure).toMatch(/overlays\/ha\/ha\.env: no such file or directory/);
  });

  it('renders the HA overlay with its example settings: three hubs on PostgreSQL and Redis, shared keys, no volume claim', async () => {
    cpSync(path.join(root, 'deploy/kubernetes'), path.join(temp, 'kubernetes'), { recursive: true });
    const overlay = path.join(temp, 'kubernetes/overlays/ha');
    copyFileSync(path.join(overlay, 'ha.env.example'), path.join(overlay, 'ha.env'));
    // Without the keys it still refuses.
    await expect(render(overlay)).rejects.toThrow(/hub-key\.json|secret\.key/);
    writeFileSync(path.join(overlay, 'hub-key.json'), JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })));
    writeFileSync(path.join(overlay, 'secret.key'), randomBytes(32).toString('hex'));
    const objects = await render(overlay);

    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const hub = find<Deployment>(objects, 'Deployment', 'farol-hub');
    expect(hub.spec!.replicas).toBe(3);
    expect(hub.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } });
    const settings = find<Secret>(objects, 'Secret', 'farol-ha');
    const decoded = Object.fromEntries(Object.entries(settings.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(Object.keys(decoded).sort()).toEqual(['FAROL_ADMIN_TOKEN', 'FAROL_DATABASE_URL', 'FAROL_REDIS_URL']);
    expect(decoded.FAROL_DATABASE_URL).toMatch(/^postgres:\/\//);
    const identity = find<Secret>(objects, 'Secret', 'farol-identity');
    expect(Object.keys(identity.data!).sort()).toEqual(['hub-key.json', 'secret.key']);

    const pod = hub.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.envFrom).toContainEqual({ secretRef: { name: settings.metadata!.name } });
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'FAROL_HUB_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'FAROL_HUB_KEY_FILE', value: '/run/farol/hub-key.json' },
      { name: 'FAROL_SECRET_KEY_FILE', value: '/run/farol/secret.key' },
    ]));
    expect(pod.volumes).toContainEqual({ name: 'identity', secret: { secretName: identity.metadata!.name, defaultMode: 0o400 } });
    expect(pod.volumes).toContainEqual({ name: 'data', emptyDir: {} });
    expect(container.readinessProbe!.httpGet!.path).toBe('/ready');
    const pdb = find<PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'farol-hub');
    expect(pdb.spec).toMatchObject({ minAvailable: 2 });
    expect(pdb.spec!.maxUnavailable).toBeUndefined();
  });
});
