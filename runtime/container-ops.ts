/** Operations on a live container that need no record changes: exec, resource update, log reopen. */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { wrapError } from './runtime-helpers';
import type { ContainerRecord } from './container-record';
import type { OciRuntimeDriver } from './oci-runtime';
import type { LinuxResourcesInput, RuntimeSpecDefaults } from './spec/inputs';
import type { OciSpec } from './spec/oci-types';
import { ociResources } from './spec/resources';

/**
 * ExecSync output cap, stdout and stderr together: the reply must fit in one 16 MiB gRPC message
 * (kubelet's receive limit and berthd's send limit); 64 KiB are left for the rest of the message.
 */
const EXEC_OUTPUT_LIMIT = 16 * 1024 * 1024 - 64 * 1024;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** The container's config.json. */
export async function readSpec(rec: ContainerRecord): Promise<OciSpec> {
  return JSON.parse(await fs.readFile(path.join(rec.paths.bundle, 'config.json'), 'utf8')) as OciSpec;
}

/** Runs `cmd` with the container's process settings (user, env, cwd, capabilities). */
export async function execInContainer(rec: ContainerRecord, runtime: OciRuntimeDriver, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult> {
  if (cmd.length === 0) throw new InvalidArgumentError('cmd is empty');
  if (rec.state !== 'running') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not running`);
  const spec = await readSpec(rec);
  const proc = { ...spec.process, args: cmd, terminal: false };
  delete proc.oomScoreAdj; // the exec joins the container's cgroup and keeps its score
  try {
    return await runtime.exec(rec.id, proc, { timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined, maxOutputBytes: EXEC_OUTPUT_LIMIT });
  } catch (err) {
    throw wrapError(err, `exec in container ${rec.id}`);
  }
}

/** Applies new limits to a live container with `runc update`. */
export async function applyResources(rec: ContainerRecord, runtime: OciRuntimeDriver, resources: LinuxResourcesInput, defaults: RuntimeSpecDefaults): Promise<void> {
  const oci = ociResources(resources, defaults);
  if (rec.state === 'exited') throw new FailedPreconditionError(`container ${rec.id} has exited`);
  if (rec.pid <= 0) return; // not created in the runtime yet: the record alone carries the change
  try {
    await runtime.update(rec.id, oci);
  } catch (err) {
    throw wrapError(err, `update resources of container ${rec.id}`);
  }
}

/** Sends conmon's REOPEN_LOGS_EVENT through `<bundle>/ctl` and waits briefly for the new file. */
export async function reopenLog(rec: ContainerRecord): Promise<void> {
  if (rec.state !== 'running') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not running`);
  const ctl = path.join(rec.paths.bundle, 'ctl');
  let handle;
  try {
    // O_NONBLOCK: with no reader (conmon gone) open fails with ENXIO instead of hanging.
    handle = await fs.open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw new FailedPreconditionError(`reopen log of container ${rec.id}: its monitor is not listening`, { cause: err });
  }
  try {
    await handle.write('2 0 0\n'); // message type 2 = reopen logs; height and width unused
  } finally {
    await handle.close();
  }
  if (!rec.logPath) return;
  for (let i = 0; i < 50; i++) {
    if (await fs.access(rec.logPath).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
