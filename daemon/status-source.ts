/**
 * The daemon's answer to CRI Status: network readiness comes from whatever network provider is
 * plugged in (the CNI manager once wired: it has a compatible `status()`), runtime handlers from
 * the config.
 */
import { deepFreeze } from '../common/deep-freeze';
import type { BerthConfig } from './config-schema';

/** The narrow view of the CNI layer Status needs (CniManager.status() fits it). */
export interface NetworkStatusProvider {
  status(): { ready: boolean; reason?: string; message?: string; networkName?: string };
}

/** Network status reported until a CNI provider is plugged in. */
export const NETWORK_NOT_WIRED = {
  ready: false,
  reason: 'NetworkPluginNotReady',
  message: 'berth: the CNI network layer is not initialised',
} as const;

const NO_FEATURES: Readonly<Record<string, HandlerFeatureFlags>> = Object.freeze({});

/** One handler's features as Status reports them (cri-api RuntimeHandlerFeatures). */
export interface HandlerFeatureFlags {
  recursiveReadOnlyMounts: boolean;
  userNamespaces: boolean;
}

/** Implements cri/runtime/info-handlers' RuntimeStatusSource structurally. */
export class DaemonStatusSource {
  private network: NetworkStatusProvider | undefined;
  private handlerFeatures: (() => Readonly<Record<string, HandlerFeatureFlags>>) | undefined;
  /** The last list made, and the features it was made from (the provider hands out one shared record). */
  private handlers: { from: Readonly<Record<string, HandlerFeatureFlags>>; list: ReadonlyArray<{ name: string; features: HandlerFeatureFlags }> } | undefined;

  constructor(
    private readonly config: Pick<BerthConfig, 'runtimes' | 'defaultRuntime' | 'root' | 'runRoot' | 'cgroupDriver'>,
    private readonly version: string,
  ) {}

  /** Plugs in the network provider (the CNI manager). */
  setNetworkProvider(provider: NetworkStatusProvider | undefined): void {
    this.network = provider;
  }

  /** Plugs in what each handler can do on this host (the container layer knows); unset: nothing. */
  setHandlerFeatures(provider: (() => Readonly<Record<string, HandlerFeatureFlags>>) | undefined): void {
    this.handlerFeatures = provider;
    this.handlers = undefined;
  }

  /** NetworkReady condition. */
  networkReady(): { ready: boolean; reason?: string; message?: string } {
    if (!this.network) return { ...NETWORK_NOT_WIRED };
    const s = this.network.status();
    return s.ready ? { ready: true } : { ready: false, reason: s.reason || 'NetworkPluginNotReady', message: s.message };
  }

  /**
   * The default handler first (also listed as "" as kubelet looks it up), then the others, each
   * with the features it really has here (none claimed when nobody said).
   */
  runtimeHandlers(): ReadonlyArray<{ name: string; features: HandlerFeatureFlags }> {
    const known = this.handlerFeatures?.() ?? NO_FEATURES;
    if (this.handlers?.from === known) return this.handlers.list;
    const names = Object.keys(this.config.runtimes);
    const ordered = [this.config.defaultRuntime, ...names.filter((n) => n !== this.config.defaultRuntime)];
    const none: HandlerFeatureFlags = { recursiveReadOnlyMounts: false, userNamespaces: false };
    const features = (name: string): HandlerFeatureFlags => known[name] ?? (name === '' ? known[this.config.defaultRuntime] : undefined) ?? none;
    const list = deepFreeze(['', ...ordered].map((name) => ({ name, features: features(name) })));
    this.handlers = { from: known, list };
    return list;
  }

  /** Values for verbose Status (JSON text). */
  verboseInfo(): Record<string, string> {
    return {
      version: JSON.stringify(this.version),
      config: JSON.stringify({
        root: this.config.root,
        runRoot: this.config.runRoot,
        cgroupDriver: this.config.cgroupDriver,
        defaultRuntime: this.config.defaultRuntime,
        runtimes: this.config.runtimes,
      }),
    };
  }
}
