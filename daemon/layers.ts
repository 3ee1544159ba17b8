/**
 * Builds the domain layers from the config for startDaemon, in dependency order:
 *   CNI (network status, pod networking) → images → pods (recovered) → containers (recovered,
 *   then hooked into pods so StopPodSandbox/RemovePodSandbox reach them) → streaming server.
 * Every layer receives plain options; this file is the only place that knows all of them.
 * A failure part-way closes what was built. `close()` stops watchers and servers only: pods and
 * containers keep running across a berthd restart (conmon and pause are not our children).
 */
import { CleanupStack } from '../common/cleanup-stack';
import type { Logger } from '../common/logger';
import { CniManager } from '../cni/cni-manager';
import { imageServiceHandlers } from '../cri/image/image-handlers';
import { containerHandlers } from '../cri/runtime/container-handlers';
import { podMetricsHandlers } from '../cri/runtime/metrics-handlers';
import { podSandboxHandlers } from '../cri/runtime/pod-handlers';
import { streamingHandlers } from '../cri/runtime/streaming-handlers';
import { NetnsPortForwardBackend } from '../cri/streaming/netns-port-forward';
import { StreamingServer } from '../cri/streaming/server';
import { ImageService } from '../image/image-service';
import { loadRegistriesConfig } from '../image/registries-config';
import { loadNativeBinding, pauseExecutablePath } from '../native/addon';
import { PodManager } from '../pod/pod-manager';
import type { ContainerManager } from '../runtime/container-manager';
import { PodMetricsCollector } from '../runtime/metrics-collector';
import { openContainerManager } from '../runtime/open-container-manager';
import type { BerthConfig } from './config-schema';
import { parseHostPort } from './config-validate';
import { derivedPaths } from './derived-paths';
import { secureStateDirs } from './state-dirs';
import { podNetnsLookup, podStatusForEvents, streamingTargets } from './layer-adapters';
import type { DaemonMetrics } from './metrics';
import { EventedPodService } from './pod-events';
import { countByHostUsers, countByState, registerInventoryMetrics } from './metrics-inventory';
import { recoverNode, sweepCniCache } from './recovery';
import { containerOutcome, imageOutcome, podOutcome, podStateExists } from './recovery-outcomes';
import { writeShutdownMarker } from './shutdown-marker';
import { berthVersion } from './version';
import type { DaemonLayers } from './wiring';

/** The layers for `config`, recovered from the state on disk and ready to serve. */
export async function buildLayers(config: BerthConfig, logger: Logger, metrics: DaemonMetrics): Promise<DaemonLayers> {
  return CleanupStack.run(async (stack) => {
    const paths = derivedPaths(config);
    await secureStateDirs(config, logger);
    const native = loadNativeBinding();

    const network = await CniManager.create({
      configDir: config.cniConfigDir,
      pluginDirs: config.cniPluginDirs,
      cacheDir: paths.cniCacheDir,
      defaultNetwork: {
        name: config.defaultNetworkName,
        bridge: config.defaultNetworkBridge,
        subnet: config.defaultNetworkSubnet,
        ipamDataDir: paths.ipamDataDir,
      },
      logger: logger.child({ component: 'cni' }),
      pluginObserver: { observe: (plugin, command, seconds, ok) => metrics.cniPluginDone(plugin, command, seconds * 1000, ok) },
    });
    stack.push('close CNI manager', () => network.close());

    // Recovery order, the clean-shutdown marker and what "thorough" means: daemon/recovery.ts.
    let images!: ImageService;
    let pods!: PodManager;
    let containers!: ContainerManager;
    let recovered = false;
    const recovery = await recoverNode({
      runRoot: config.runRoot,
      logger,
      steps: {
        images: async () => {
          images = await ImageService.create({
            dir: paths.imagesDir,
            registries: await loadRegistriesConfig(config.registriesConfig),
            native,
            logger: logger.child({ component: 'images' }),
            metrics: metrics.image,
          });
          return imageOutcome(images.storage.recoveryReport());
        },
        cniCache: () => sweepCniCache(network, (id) => podStateExists(config.root, id), logger.child({ component: 'cni' })),
        pods: async (thorough) => {
          pods = await PodManager.create({
            root: config.root,
            runRoot: config.runRoot,
            native,
            network,
            pauseExecutable: pauseExecutablePath(),
            runtimeHandlers: Object.keys(config.runtimes),
            defaultRuntimeHandler: config.defaultRuntime,
            logger: logger.child({ component: 'pods' }),
            observer: metrics.podStart,
            pauseUid: config.pauseUid,
            pauseGid: config.pauseGid,
            // Containers open after pods; no pod is created before both are.
            userNamespaces: (handler) => containers?.handlerFeatures()[handler]?.userNamespaces ?? false,
          });
          stack.push('close pod manager', () => pods.close());
          return podOutcome(await pods.recover({ thorough }));
        },
        containers: async (thorough) => {
          containers = await openContainerManager({
            root: config.root,
            runRoot: config.runRoot,
            runtimes: Object.fromEntries(Object.entries(config.runtimes).map(([name, rt]) => [name, { path: rt.path, root: paths.runtimeRoots[name] }])),
            defaultRuntime: config.defaultRuntime,
            conmonPath: config.conmonPath,
            cgroupDriver: config.cgroupDriver,
            sandboxes: pods,
            images,
            imageUsers: images,
            native,
            logger,
            thoroughRecovery: thorough,
            stepObserver: metrics.containerSteps,
            cdiSpecDirs: config.cdiSpecDirs,
          });
          stack.push('close container manager', () => containers.close());
          return containerOutcome(containers.recoveryReport());
        },
      },
    });
    recovered = true;
    logger.info('recovery finished', { previousShutdown: recovery.previousShutdown, thorough: recovery.thorough, unreadable: recovery.unreadable.length });
    pods.setContainersHook({ stopAll: (id) => containers.stopAllInPod(id), removeAll: (id) => containers.removeAllInPod(id) });
    const streamingAt = parseHostPort(config.streamingAddress) ?? { host: '127.0.0.1', port: 0 };
    const streaming = await StreamingServer.start({
      address: streamingAt.host,
      port: streamingAt.port,
      tls: config.streamingTlsCert ? { certFile: config.streamingTlsCert, keyFile: config.streamingTlsKey } : undefined,
      portForwardLimits: { perPod: config.streamingPortForwardPerPod, total: config.streamingPortForwardTotal },
      backends: { exec: containers, attach: containers, portForward: new NetnsPortForwardBackend(podNetnsLookup(pods), native) },
      logger: logger.child({ component: 'streaming' }),
    });
    stack.push('close streaming server', () => streaming.close());
    registerInventoryMetrics(metrics.registry, {
      containers: { countsByState: () => countByState(containers.listContainers()) },
      pods: { countsByState: () => countByState(pods.listPodSandboxes()) },
      podUserNamespaces: { countsByHostUsers: () => countByHostUsers(pods.listPodSandboxes()) },
      streamingSessions: streaming,
      imageVolumes: { count: () => containers.listContainers().reduce((n, c) => n + c.mounts.filter((m) => m.image !== undefined).length, 0) },
    });


    const eventedPods = new EventedPodService(pods);
    const layers: DaemonLayers = {
      network,
      statusInfo: () => ({
        apparmor: JSON.stringify(containers.appArmorStatus() ?? { enabled: false }),
        userNamespaces: JSON.stringify(containers.userNamespaceSupport() ?? { idmappedMounts: false, reason: 'not probed' }),
      }),
      handlerFeatures: () => containers.handlerFeatures(),
      // Merge and Strict are both applied from the image's own group file (runtime/user.ts).
      runtimeFeatures: { supplementalGroupsPolicy: true },
      handlers: [
        imageServiceHandlers({ images }),
        podSandboxHandlers({ pods: eventedPods, containerStatuses: (id) => containers.listContainers({ podSandboxId: id }) }),
        containerHandlers({ containers, pods, podStatus: podStatusForEvents(pods), sandboxEvents: eventedPods }),
        streamingHandlers({ urls: streaming, targets: streamingTargets(pods, containers) }),
        podMetricsHandlers({ metrics: new PodMetricsCollector({ containers }), pods }),
      ],
      async close() {
        await streaming.close();
        containers.close();
        pods.close();
        await network.close();
        // Last: the next start may trust the state (quick recovery) only if everything got here.
        if (recovered) await writeShutdownMarker(config.runRoot, berthVersion());
      },
    };
    logger.info('layers ready', { streaming: streaming.url, pods: pods.listPodSandboxes().length, containers: containers.listContainers().length });
    return layers;
  });
}
