/**
 * The Kubernetes API calls `runtimeclasses sync` makes, behind a narrow interface, and its
 * implementation with @kubernetes/client-node. The client is loaded only when the command runs:
 * it is an ES module that takes about a second to load, which serve must never pay.
 */
import type { KubeConfig, V1RuntimeClass } from '@kubernetes/client-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError, FailedPreconditionError, InvalidArgumentError, NotFoundError, RuntimeError, UnavailableError } from '../../common/errors';
import type { RuntimeClassObject } from './plan';

/** What the sync needs from the apiserver (node.k8s.io/v1 runtimeclasses). */
export interface RuntimeClassApi {
  /** Where requests go, for messages (the cluster's server URL). */
  readonly server: string;
  list(): Promise<RuntimeClassObject[]>;
  create(object: RuntimeClassObject): Promise<void>;
  replace(name: string, object: RuntimeClassObject): Promise<void>;
}

type ClientModule = typeof import('@kubernetes/client-node');

/** A RuntimeClassApi for the kubeconfig at `kubeconfigPath`, or the usual places when absent. */
export async function kubeRuntimeClassApi(kubeconfigPath?: string): Promise<RuntimeClassApi> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
  const k8s = require('@kubernetes/client-node') as ClientModule;
  const kc = new k8s.KubeConfig();
  if (!kubeconfigPath && !defaultKubeconfigExists(process.env)) {
    // client-node would silently fall back to http://localhost:8080, which only confuses.
    throw new InvalidArgumentError('load kubeconfig: none found ($KUBECONFIG, ~/.kube/config, in-cluster service account); pass --kubeconfig <file>');
  }
  try {
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
  } catch (cause) {
    throw new InvalidArgumentError(`load kubeconfig ${kubeconfigPath ?? '(default locations)'}`, { cause });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new InvalidArgumentError(`load kubeconfig ${kubeconfigPath ?? '(default locations)'}: no current cluster`);
  return new ClientNodeRuntimeClassApi(k8s, kc, cluster.server);
}

/** True when one of the places KubeConfig.loadFromDefault reads holds a kubeconfig. */
export function defaultKubeconfigExists(env: NodeJS.ProcessEnv): boolean {
  if (env.KUBECONFIG && env.KUBECONFIG.split(path.delimiter).some((f) => f && fs.existsSync(f))) return true;
  if (fs.existsSync(path.join(env.HOME || os.homedir(), '.kube', 'config'))) return true;
  return Boolean(env.KUBERNETES_SERVICE_HOST) && fs.existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

class ClientNodeRuntimeClassApi implements RuntimeClassApi {
  private readonly api;
  constructor(
    private readonly k8s: ClientModule,
    kc: KubeConfig,
    readonly server: string,
  ) {
    this.api = kc.makeApiClient(k8s.NodeV1Api);
  }

  async list(): Promise<RuntimeClassObject[]> {
    const list = await this.call('list RuntimeClasses', () => this.api.listRuntimeClass());
    return list.items.map(fromClient);
  }

  async create(object: RuntimeClassObject): Promise<void> {
    await this.call(`create RuntimeClass ${object.metadata.name}`, () => this.api.createRuntimeClass({ body: toClient(object) }));
  }

  async replace(name: string, object: RuntimeClassObject): Promise<void> {
    await this.call(`update RuntimeClass ${name}`, () => this.api.replaceRuntimeClass({ name, body: toClient(object) }));
  }

  /** Runs one API call, turning the client's exceptions into typed errors with the apiserver's message. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      // The client's ApiException message repeats the whole body and headers; the typed error
      // keeps what matters (code, Status reason and message) and drops it as cause.
      if (cause instanceof this.k8s.ApiException) throw apiError(what, this.server, cause.code, cause.body);
      throw new UnavailableError(`${what} at ${this.server}`, { cause });
    }
  }
}

/** A typed error for an apiserver answer `code` with (Status) `body`. */
export function apiError(what: string, server: string, code: number, body: unknown): BerthError {
  const status = parseStatus(body);
  const detail = `${what} at ${server}: HTTP ${code}${status.reason ? ` ${status.reason}` : ''}${status.message ? `: ${status.message}` : ''}`;
  if (code === 401) return new FailedPreconditionError(`${detail} (the kubeconfig's credentials were not accepted)`);
  if (code === 403) return new FailedPreconditionError(`${detail} (the kubeconfig's user may not do this; it needs get/list/create/update on runtimeclasses.node.k8s.io)`);
  if (code === 404) return new NotFoundError(`${detail} (does the cluster serve node.k8s.io/v1?)`);
  if (code === 409) return new FailedPreconditionError(`${detail} (changed concurrently; run the sync again)`);
  if (code >= 500) return new UnavailableError(detail);
  return new RuntimeError(detail);
}

function parseStatus(body: unknown): { reason?: string; message?: string } {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  if (typeof value !== 'object' || value === null) return {};
  const { reason, message } = value as { reason?: unknown; message?: unknown };
  return { reason: typeof reason === 'string' ? reason : undefined, message: typeof message === 'string' ? message : undefined };
}

function fromClient(rc: V1RuntimeClass): RuntimeClassObject {
  const meta = rc.metadata ?? {};
  return {
    ...rc,
    metadata: { ...meta, name: meta.name ?? '', labels: meta.labels, resourceVersion: meta.resourceVersion },
    handler: rc.handler,
  } as RuntimeClassObject;
}

function toClient(object: RuntimeClassObject): V1RuntimeClass {
  return object as V1RuntimeClass;
}
