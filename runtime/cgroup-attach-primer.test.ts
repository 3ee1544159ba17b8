import { expect } from 'chai';
import { CgroupAttachPrimer, ownProcsFile, type PrimerOps } from './cgroup-attach-primer';

/** Ops that record what the primer does; `sleep` resolves on the next macrotask. */
function recordingOps(opts: { file?: string; failWrite?: boolean } = {}): PrimerOps & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    procsFile: async () => opts.file,
    open: async (file) => {
      log.push(`open ${file}`);
      return {
        write: async (text) => {
          if (opts.failWrite) throw new Error('EACCES');
          log.push(`write ${text}`);
        },
        close: async () => {
          log.push('close');
        },
      };
    },
    sleep: () => new Promise((r) => setTimeout(r, 1)),
  };
}

const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** After a turn the primer has closed its file, and nothing more happens after another. */
async function expectClosedThenQuiet(ops: { log: string[] }): Promise<void> {
  await settle();
  const after = ops.log.length;
  expect(ops.log[after - 1]).to.equal('close');
  await settle();
  expect(ops.log.length).to.equal(after);
}

describe('runtime/cgroup-attach-primer', () => {
  describe('ownProcsFile', () => {
    it('picks the pids hierarchy on cgroup v1 (hybrid layout), ignoring named and unified lines', () => {
      const text = '9:name=systemd:/system.slice/berthd.service\n8:pids:/system.slice/berthd.service\n4:memory:/x\n0::/system.slice/berthd.service\n';
      expect(ownProcsFile(text)).to.equal('/sys/fs/cgroup/pids/system.slice/berthd.service/cgroup.procs');
    });

    it('takes the first v1 hierarchy (co-mounted controllers joined) when there is no pids one', () => {
      expect(ownProcsFile('3:cpu,cpuacct:/\n2:memory:/a\n')).to.equal('/sys/fs/cgroup/cpu,cpuacct/cgroup.procs');
    });

    it('uses the v2 cgroup on a unified host, and nothing without any cgroup line', () => {
      expect(ownProcsFile('0::/system.slice/berthd.service\n')).to.equal('/sys/fs/cgroup/system.slice/berthd.service/cgroup.procs');
      expect(ownProcsFile('')).to.equal(undefined);
      expect(ownProcsFile('1:name=systemd:/\n')).to.equal(undefined);
    });
  });

  describe('CgroupAttachPrimer', () => {
    it('writes its own pid at once and again while held, and stops (closing the file) once released', async () => {
      const ops = recordingOps({ file: '/cg/cgroup.procs' });
      const primer = new CgroupAttachPrimer({ ops, pid: 77, warmMs: 60_000 });
      const release = primer.hold();
      await settle();
      const writes = ops.log.filter((l) => l === 'write 77').length;
      expect(ops.log[0]).to.equal('open /cg/cgroup.procs');
      expect(writes).to.be.greaterThan(1);
      release();
      await expectClosedThenQuiet(ops);
    });

    it('adds no writes for a hold taken while another launch is in flight; once none is, a hold starts the loop again', async () => {
      const ops = recordingOps({ file: '/cg/cgroup.procs' });
      let now = 0;
      const primer = new CgroupAttachPrimer({ ops, pid: 5, warmMs: 30, now: () => now });
      const a = primer.hold();
      now = 10;
      const b = primer.hold(); // in flight beside a: does not extend a's warm period
      await settle();
      expect(ops.log.filter((l) => l.startsWith('open'))).to.have.length(1);
      now = 31;
      await settle();
      expect(ops.log.filter((l) => l === 'close')).to.have.length(1);
      a();
      const c = primer.hold(); // b still in flight
      await settle();
      expect(ops.log.filter((l) => l.startsWith('open'))).to.have.length(1);
      b();
      c();
      c(); // a second release of the same hold changes nothing
      const d = primer.hold();
      await settle();
      expect(ops.log.filter((l) => l.startsWith('open'))).to.have.length(2);
      d();
      await settle();
      expect(ops.log.filter((l) => l === 'close')).to.have.length(2);
    });

    it('stops writing once a hold is past its warm period, even if never released', async () => {
      const ops = recordingOps({ file: '/cg/cgroup.procs' });
      let now = 0;
      const primer = new CgroupAttachPrimer({ ops, pid: 9, warmMs: 30, now: () => now });
      primer.hold();
      await settle();
      expect(ops.log).to.not.include('close');
      now = 31;
      await expectClosedThenQuiet(ops);
    });

    it('switches itself off for good (once reported) when the write fails or there is no cgroup', async () => {
      const reasons: string[] = [];
      const failing = recordingOps({ file: '/cg/cgroup.procs', failWrite: true });
      const primer = new CgroupAttachPrimer({ ops: failing, onOff: (r) => reasons.push(r) });
      primer.hold();
      await settle();
      expect(primer.disabled).to.equal(true);
      expect(reasons).to.deep.equal(['EACCES']);
      expect(failing.log).to.deep.equal(['open /cg/cgroup.procs', 'close']);
      primer.hold()();
      await settle();
      expect(failing.log).to.have.length(2);

      const none = recordingOps({});
      const noCgroup = new CgroupAttachPrimer({ ops: none, onOff: (r) => reasons.push(r) });
      noCgroup.hold();
      await settle();
      expect(noCgroup.disabled).to.equal(true);
      expect(none.log).to.deep.equal([]);
      expect(reasons[1]).to.match(/no cgroup/);
    });
  });
});
