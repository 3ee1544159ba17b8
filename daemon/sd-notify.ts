/**
 * systemd's notification protocol (Type=notify, WatchdogSec=): READY=1 once berthd serves,
 * WATCHDOG=1 every half watchdog interval, STOPPING=1 on shutdown. The protocol is a datagram on
 * the unix socket named by NOTIFY_SOCKET; Node cannot send unix datagrams (dgram is UDP only) and
 * the addon has no datagram helper, so each message is sent by systemd's own `systemd-notify`
 * (shipped with systemd wherever NOTIFY_SOCKET is set). It is a child process, so the unit needs
 * NotifyAccess=all; systemd-notify waits until systemd processed the message (a barrier), so
 * systemd still knows which unit sent it.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../common/logger';

/** Sends one notification; rejects when the helper failed. */
export type NotifySender = (message: string) => Promise<void>;

/** Options of SystemdNotifier (tests replace env and sender). */
export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  sender?: NotifySender;
  logger: Logger;
  pid?: number;
}

/** How long one systemd-notify call may take (its barrier waits up to 5 s itself). */
const SEND_TIMEOUT_MS = 10_000;

/** Sends `message` through systemd-notify with the daemon's NOTIFY_SOCKET. */
export function systemdNotifySender(env: NodeJS.ProcessEnv = process.env, binary = 'systemd-notify'): NotifySender {
  return (message) =>
    new Promise<void>((resolve, reject) => {
      // The message's lines become separate arguments, as systemd-notify sends each as one line.
      execFile(binary, message.split('\n'), { env, timeout: SEND_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`${binary} ${message.split('\n').join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve();
      });
    });
}

/** The daemon's side of sd_notify; every method is a no-op when NOTIFY_SOCKET is unset. */
export class SystemdNotifier {
  private readonly env: NodeJS.ProcessEnv;
  private readonly send: NotifySender;
  private readonly logger: Logger;
  private readonly pid: number;
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;

  constructor(opts: NotifierOptions) {
    this.env = opts.env ?? process.env;
    this.send = opts.sender ?? systemdNotifySender(this.env);
    this.logger = opts.logger;
    this.pid = opts.pid ?? process.pid;
  }

  /** True when systemd asked for notifications. */
  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /**
   * The watchdog ping interval in ms (half of WATCHDOG_USEC), or undefined when systemd set no
   * watchdog for this process (WATCHDOG_PID names another process after a fork, for instance).
   */
  watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!this.enabled || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
    if (this.env.WATCHDOG_PID && Number(this.env.WATCHDOG_PID) !== this.pid) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** READY=1 (with a STATUS line), then watchdog pings if systemd asked for them. */
  async ready(status: string): Promise<void> {
    if (!this.enabled) return;
    await this.notify(`READY=1\nSTATUS=${status}`);
    const interval = this.watchdogIntervalMs();
    if (interval === undefined || this.timer) return;
    // A blocked event loop stops the pings, and systemd restarts berthd: that is the point.
    this.timer = setInterval(() => void this.ping(), interval);
    this.timer.unref();
  }

  /** STOPPING=1 and no more watchdog pings. */
  async stopping(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled) await this.notify('STOPPING=1');
  }

  private async ping(): Promise<void> {
    if (this.pinging) return; // a slow helper must not pile up processes
    this.pinging = true;
    try {
      await this.notify('WATCHDOG=1');
    } finally {
      this.pinging = false;
    }
  }

  private async notify(message: string): Promise<void> {
    try {
      await this.send(message);
    } catch (err) {
      this.logger.warn('systemd notification failed', { message: message.split('\n')[0], err });
    }
  }
}
