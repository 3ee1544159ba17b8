import { expect } from 'chai';
import { berthDefaultAppArmorProfile, everythingUnderExcept } from './apparmor-profile';

/** An AppArmor file glob as a RegExp (the subset the profile uses: **, *, {a,b}, [^c]). */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (glob.startsWith('**', i)) {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      re += glob.slice(i, end + 1);
      i = end;
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      re += `(?:${glob.slice(i + 1, end).split(',').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The deny rules of a profile text: [glob, permissions]. */
function denyFileRules(text: string): Array<[RegExp, string]> {
  return [...text.matchAll(/^\s*deny (\/\S+) (\w+),$/gm)].map((m) => [globRegExp(m[1]), m[2]]);
}

const denied = (rules: Array<[RegExp, string]>, file: string, perm: string) => rules.some(([re, perms]) => perms.includes(perm) && re.test(file));

describe('runtime/apparmor-profile', () => {
  const text = berthDefaultAppArmorProfile('berth-default');
  const rules = denyFileRules(text);

  it('is one self-contained profile (no includes), braces balanced', () => {
    expect(text).to.match(/^profile berth-default flags=\(attach_disconnected,mediate_deleted\) \{$/m);
    expect(text).to.not.contain('#include');
    expect(text.split('{').length).to.equal(text.split('}').length);
    expect(text.trimEnd().endsWith('}')).to.equal(true);
  });

  it('denies mount, umount and pivot_root; signals and ptrace only among its own peers', () => {
    for (const rule of ['deny mount,', 'deny umount,', 'deny pivot_root,', 'signal (send,receive) peer=berth-default,', 'ptrace (trace,read,tracedby,readby) peer=berth-default,']) {
      expect(text).to.contain(`  ${rule}\n`);
    }
    expect(text).to.not.match(/^\s*ptrace,/m);
  });

  const cases: Array<[string, string, boolean]> = [
    ['/proc/sysrq-trigger', 'w', true],
    ['/proc/sysrq-trigger', 'r', true],
    ['/proc/kcore', 'r', true],
    ['/proc/sys/kernel/core_pattern', 'w', true],
    ['/proc/sys/net/ipv4/ip_forward', 'w', true],
    ['/proc/irq/1/smp_affinity', 'w', true],
    ['/proc/1/oom_score_adj', 'w', false],
    ['/proc/1/attr/current', 'w', false],
    ['/proc/cpuinfo', 'r', false],
    ['/sys/kernel/mm/transparent_hugepage/enabled', 'w', true],
    ['/sys/class/net/eth0/mtu', 'w', true],
    ['/sys/fs/bpf/x', 'w', true],
    ['/sys/fs/cgroupx/a', 'w', true],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', 'w', false],
    ['/sys/fs/cgroup/cgroup.procs', 'w', false],
    ['/sys/class/net/eth0/mtu', 'r', false],
    ['/sys/firmware/acpi/tables/DSDT', 'r', true],
    ['/sys/kernel/security/apparmor/profiles', 'r', true],
    ['/etc/passwd', 'w', false],
  ];
  for (const [file, perm, want] of cases) {
    it(`${want ? 'denies' : 'allows'} ${perm} on ${file}`, () => expect(denied(rules, file, perm)).to.equal(want));
  }

  it('everythingUnderExcept: one glob per character of the kept path', () => {
    expect(everythingUnderExcept('/sys', 'fs')).to.deep.equal(['/sys/[^f]**', '/sys/f[^s]**']);
    expect(everythingUnderExcept('/sys', 'fs/cgroup/')).to.have.length(10);
  });

  it('refuses a profile name that is not a plain word', () => {
    expect(() => berthDefaultAppArmorProfile('x {\n  file,\n}')).to.throw(/plain word/);
  });
});
