/**
 * CreateContainer's steps, each registered on a CleanupStack (docs/contributing.md, "Cleanup stacks"): validate, resolve
 * the image, make the container dir, mount the overlay rootfs, resolve the user inside it, build
 * the spec (pure), write the bundle and the record. Launching conmon + `runc create` is the
 * manager's next step (see container-manager.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, errnoCode } from '../common/errors';
import { CleanupStack } from '../common/cleanup-stack';
import { checkMetadataMaps } from '../common/metadata-limits';
import { appArmorProfileLoaded } from './apparmor';
import { cdiRequests } from './cdi/requests';
import type { CdiEdits, CdiRequest } from './cdi/types';
import { CONTAINER_RECORD_VERSION, reportedImageName, type ContainerRecord } from './container-record';
import type { HandlerFeatures } from './handler-features';
import type { ImageLookup, ImageUseRegistry, ResolvedImage, RuntimeNative, SandboxView } from './interfaces';
import { prepareImageVolumes } from './image-volumes';
import { prepareMountSource } from './host-facts';
import { idmapMountSources, mountIdmappedRootfs, podUserNamespace } from './idmapped-rootfs';
import { containerLogPath } from './log-path';
import { appArmorProfile } from './spec/apparmor';
import { buildContainerSpec } from './spec/build-spec';
import type { ContainerConfigInput, ResolvedDevice, ResolvedUser, RuntimeSpecDefaults, SandboxSpecInput } from './spec/inputs';
import type { OciSpec } from './spec/oci-types';
import { startStep, timeStep, type ContainerStepObserver } from './step-observer';
import type { UserRequest } from './user';

export interface CreateDeps {
  images: ImageLookup;
  native: RuntimeNative;
  /** Where image volumes register the images they use (absent: nothing tracks them). */
  imageUsers?: ImageUseRegistry;
  defaults: RuntimeSpecDefaults;
  /** Per handler: recursive read-only mounts need the handler's support too, not only the kernel's. */
  handlerFeatures?: Record<string, HandlerFeatures>;
  /** The device nodes of config.devices[index] (a directory expands to the nodes below it). */
  resolveDevice(d: ContainerConfigInput['devices'][number], index: number): Promise<ResolvedDevice[]>;
  hostDevices(): Promise<ResolvedDevice[]>;
  /** The edits of the requested CDI devices (FailedPrecondition naming an unknown one). */
  resolveCdi(requests: CdiRequest[]): Promise<CdiEdits>;
  /** Reads and parses a Localhost seccomp profile (NotFound when missing). */
  loadSeccompProfile(ref: string): Promise<unknown>;
  /** pid of a running container of the same pod, for pid namespace TARGET. */
  targetPid(targetId: string): number | undefined;
  nowNs(): number;
  /** The user inside image `imageId` whose fresh rootfs is at `rootfs` (image-accounts.ts caches per image). */
  resolveUser(imageId: string, rootfs: string, req: UserRequest): Promise<ResolvedUser>;
  /** Whether AppArmor profile `name` is loaded in the kernel (default: the host's list). */
  appArmorProfileLoaded?(name: string): Promise<boolean>;
  /** Told how long each step took (image lookup, rootfs mount, spec build). */
  stepObserver?: ContainerStepObserver;
}

/** A fresh 64-hex-digit container id. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** kubelet/cri-o style unique name: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>. */
export function containerReservedName(config: Pick<ContainerConfigInput, 'name' | 'attempt'>, sandbox: Pick<SandboxView, 'name' | 'namespace' | 'uid'>): string {
  return ['k8s', config.name, sandbox.name, sandbox.namespace, sandbox.uid, String(config.attempt)].join('_');
}

/** Checks the request before any work; errors name the field. */
export function validateCreate(config: ContainerConfigInput, sandbox: SandboxView | undefined, podId: string): SandboxView {
  if (!podId) throw new InvalidArgumentError('pod_sandbox_id is empty');
  checkMetadataMaps(config);
  if (!sandbox) throw new NotFoundError(`pod sandbox ${podId} not found`);
  if (sandbox.state !== 'ready') throw new FailedPreconditionError(`pod sandbox ${podId} is not ready`);
  if (!config.name) throw new InvalidArgumentError('config.metadata.name is empty');
  if (config.name.length > 253) throw new InvalidArgumentError('config.metadata.name is longer than 253 characters');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(config.name)) throw new InvalidArgumentError(`config.metadata.name ${JSON.stringify(config.name)} has characters a container name cannot have`);
  if (!config.image) throw new InvalidArgumentError('config.image.image is empty');
  // The pod's own record decides, not the sandbox_config a request carries (a client could lie there).
  if (config.security.privileged === true && sandbox.config?.linux?.securityContext?.privileged !== true) {
    throw new InvalidArgumentError(`config.linux.security_context.privileged: the container is privileged but pod sandbox ${sandbox.id} is not privileged (its linux.security_context.privileged is false)`);
  }
  return sandbox;
}

/** The image ref reported in status: the first repo digest, else the id. */
function imageRef(image: ResolvedImage): string {
  return image.repoDigests[0] ?? image.id;
}

/** Builds everything on disk for a new container and returns its record (state created, no pid yet). */
export async function prepareContainer(
  deps: CreateDeps,
  stack: CleanupStack,
  args: { id: string; reservedName: string; sandbox: SandboxView; config: ContainerConfigInput; containerDir: string },
): Promise<{ record: ContainerRecord; spec: OciSpec }> {
  const { id, sandbox, config, containerDir } = args;
  // Hostile names and counts are refused before any work.
  const cdi = cdiRequests(config.cdiDevices ?? [], config.annotations);
  const logPath = containerLogPath(sandbox.logDirectory, config.logPath);
  await checkAppArmor(deps, config);
  const image = await timeStep(deps.stepObserver, 'create', 'image lookup', () => deps.images.resolveImage(config.image));
  if (!image) throw new NotFoundError(`image ${config.image} not found`);
  if (image.lowerDirs.length === 0) throw new FailedPreconditionError(`image ${config.image} has no unpacked layers`);

  const paths = await mountRootfs(deps, stack, image, sandbox, containerDir);
  const volumes = await prepareImageVolumes(deps, stack, { containerId: id, containerDir, mounts: config.mounts });

  const specStep = startStep(deps.stepObserver, 'create', 'spec build');
  const { mounts, ...inputs } = await resolveSpecInputs(deps, stack, { config, sandbox, image, rootfs: paths.rootfs, containerDir, mounts: volumes.mounts, cdi });
  const spec = buildContainerSpec({
    containerId: id,
    config: { ...config, mounts },
    sandbox: sandboxSpecInput(sandbox),
    image: { id: image.id, ref: image.repoTags[0] ?? config.image, config: image.config },
    ...inputs,
    defaults: defaultsForHandler(deps, sandbox.runtimeHandler),
  });
  await Promise.all([fs.writeFile(path.join(paths.bundle, 'config.json'), JSON.stringify(spec)), logPath ? fs.mkdir(path.dirname(logPath), { recursive: true }) : undefined]);
  specStep.end();
  if (inputs.cdiEdits && inputs.cdiEdits.devices.length > 0) deps.stepObserver?.cdiDevicesInjected?.(inputs.cdiEdits.devices.length);

  const record = createdRecord({ ...args, image, logPath, paths, mounts, user: inputs.user, imageVolumes: volumes.volumes, cgroupsPath: spec.linux.cgroupsPath ?? '', createdAtNs: deps.nowNs() });
  return { record, spec };
}

/** The container's bundle and rootfs: an overlay of the image layers (id-mapped in a user-namespaced pod). */
async function mountRootfs(deps: CreateDeps, stack: CleanupStack, image: ResolvedImage, sandbox: SandboxView, containerDir: string): Promise<ContainerRecord['paths']> {
  const bundle = path.join(containerDir, 'bundle');
  const rootfs = path.join(bundle, 'rootfs');
  const upper = path.join(containerDir, 'upper');
  const work = path.join(containerDir, 'work');
  const mountStep = startStep(deps.stepObserver, 'create', 'rootfs mount');
  await fs.mkdir(containerDir, { recursive: true, mode: 0o700 });
  stack.push('remove container dir', () => fs.rm(containerDir, { recursive: true, force: true }));
  await Promise.all([fs.mkdir(rootfs, { recursive: true }), fs.mkdir(upper), fs.mkdir(work)]);
  if (sandbox.userNamespace) {
    await mountIdmappedRootfs(deps.native, { lowerDirs: image.lowerDirs, containerDir, rootfs, upper, work, ...podUserNamespace(sandbox) }, stack);
  } else {
    await deps.native.mount('overlay', rootfs, 'overlay', [], `lowerdir=${image.lowerDirs.join(':')},upperdir=${upper},workdir=${work}`);
    stack.push('unmount rootfs', () => deps.native.unmount(rootfs, ['detach']));
  }
  mountStep.end();
  return { dir: containerDir, bundle, rootfs };
}

/** The independent lookups the spec needs, run together (Create's latency is kubelet's pod start latency). */
async function resolveSpecInputs(
  deps: CreateDeps,
  stack: CleanupStack,
  args: { config: ContainerConfigInput; sandbox: SandboxView; image: ResolvedImage; rootfs: string; containerDir: string; mounts: ContainerConfigInput['mounts']; cdi: CdiRequest[] },
) {
  const { config, sandbox, image, cdi } = args;
  const sec = config.security;
  const [user, mounts, devices, hostDevices, localhostSeccompProfile, cdiEdits] = await Promise.all([
    deps.resolveUser(image.id, args.rootfs, {
      runAsUser: sec.runAsUser,
      runAsUsername: sec.runAsUsername,
      runAsGroup: sec.runAsGroup,
      supplementalGroups: sec.supplementalGroups,
      supplementalGroupsPolicy: sec.supplementalGroupsPolicy,
      imageUser: image.config.User ?? undefined,
    }),
    // Like cri-o: a missing host path is created as a directory; a symlinked one is mounted at its real destination.
    Promise.all(args.mounts.map(async (m, i) => (m.image !== undefined ? m : { ...m, hostPath: await prepareMountSource(m.hostPath, i) }))).then((prepared) =>
      idmapMountSources(deps.native, prepared, args.containerDir, sandbox, stack),
    ),
    Promise.all(config.devices.map((d, i) => deps.resolveDevice(d, i))).then((lists) => lists.flat()),
    sec.privileged ? deps.hostDevices() : Promise.resolve([]),
    // Privileged containers ignore seccomp: their Localhost profile is not even read.
    !sec.privileged && sec.seccomp?.type === 'Localhost' && sec.seccomp.localhostRef ? deps.loadSeccompProfile(sec.seccomp.localhostRef) : Promise.resolve(undefined),
    cdi.length > 0 ? deps.resolveCdi(cdi) : Promise.resolve(undefined),
  ]);
  const targetPid = sec.pidMode === 'TARGET' ? deps.targetPid(sec.targetId ?? '') : undefined;
  return { user, mounts, devices, hostDevices, localhostSeccompProfile, cdiEdits, targetPid };
}

/** The pod data the spec builder needs, from the pod's view. */
function sandboxSpecInput(sandbox: SandboxView): SandboxSpecInput {
  return {
    id: sandbox.id,
    name: sandbox.name,
    namespace: sandbox.namespace,
    uid: sandbox.uid,
    hostname: sandbox.hostname || sandbox.config?.hostname || '',
    namespacePaths: sandbox.namespacePaths,
    ...(sandbox.userNamespace ? { userNamespace: sandbox.userNamespace } : {}),
    cgroupParent: sandbox.cgroupParent,
    hostnamePath: sandbox.hostnamePath,
    hostsPath: sandbox.hostsPath,
    resolvConfPath: sandbox.resolvConfPath,
    shmPath: sandbox.shmPath,
  };
}

/** The record of a container just created (no pid yet). */
function createdRecord(args: {
  id: string;
  reservedName: string;
  sandbox: SandboxView;
  config: ContainerConfigInput;
  image: ResolvedImage;
  logPath: string;
  paths: ContainerRecord['paths'];
  mounts: ContainerConfigInput['mounts'];
  user: ResolvedUser;
  imageVolumes: NonNullable<ContainerRecord['imageVolumes']>;
  cgroupsPath: string;
  createdAtNs: number;
}): ContainerRecord {
  const { config, image, sandbox, user } = args;
  const sec = config.security;
  return {
    version: CONTAINER_RECORD_VERSION,
    id: args.id,
    podSandboxId: sandbox.id,
    name: config.name,
    attempt: config.attempt,
    reservedName: args.reservedName,
    image: { requested: config.image, id: image.id, ref: imageRef(image), name: reportedImageName(config.userSpecifiedImage, image.repoTags, config.image) },
    runtimeHandler: sandbox.runtimeHandler,
    state: 'created',
    createdAtNs: args.createdAtNs,
    startedAtNs: 0,
    finishedAtNs: 0,
    exitCode: 0,
    reason: '',
    message: '',
    pid: 0,
    logPath: args.logPath,
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    // Status reports a bind as requested, an image volume with the source berth mounted.
    mounts: config.mounts.map((m, i) => (m.image !== undefined ? { ...args.mounts[i] } : { ...m })),
    resources: config.resources ? structuredClone(config.resources) : undefined,
    user: { uid: user.uid, gid: user.gid, supplementalGroups: [...user.additionalGids], ...(sec.runAsUsername ? { username: sec.runAsUsername } : {}) },
    stopSignal: config.stopSignal || image.config.StopSignal || '',
    tty: config.tty,
    stdin: config.stdin,
    stdinOnce: config.stdinOnce,
    paths: args.paths,
    rootfsMounted: true,
    ...(args.imageVolumes.length > 0 ? { imageVolumes: args.imageVolumes } : {}),
    cgroupsPath: args.cgroupsPath,
  };
}

/** Refuses, before any work, an AppArmor choice the host cannot honour (a Localhost profile must be loaded). */
async function checkAppArmor(deps: CreateDeps, config: ContainerConfigInput): Promise<void> {
  const sec = config.security;
  const profile = appArmorProfile({ apparmor: sec.apparmor, privileged: sec.privileged === true, host: deps.defaults.apparmor });
  if (profile === undefined || sec.apparmor?.type !== 'Localhost') return;
  const loaded = await (deps.appArmorProfileLoaded ?? ((name: string) => appArmorProfileLoaded(name)))(profile);
  if (!loaded) throw new FailedPreconditionError(`linux.security_context.apparmor: AppArmor profile localhost/${profile} is not loaded on this host`);
}

/** Reads a Localhost seccomp profile from disk (absolute path required). */
export async function readSeccompProfile(ref: string): Promise<unknown> {
  const file = ref.startsWith('localhost/') ? ref.slice('localhost/'.length) : ref;
  if (!path.isAbsolute(file)) throw new InvalidArgumentError(`seccomp localhost_ref ${JSON.stringify(ref)} is not an absolute path`);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`seccomp profile ${file} not found`);
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${file} is not valid JSON`, { cause: err });
  }
}

/** The spec defaults with the pod's handler's own recursive read-only support. */
function defaultsForHandler(deps: Pick<CreateDeps, 'defaults' | 'handlerFeatures'>, handler: string): RuntimeSpecDefaults {
  const features = deps.handlerFeatures?.[handler];
  return features ? { ...deps.defaults, recursiveReadOnlySupported: features.recursiveReadOnlyMounts } : deps.defaults;
}
