/** CDI name rules: `vendor/class` kinds, device names, and fully-qualified `vendor/class=name`. Pure. */

const VENDOR = /^[A-Za-z]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const CLASS = /^[A-Za-z]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const DEVICE = /^[A-Za-z0-9]([A-Za-z0-9._:-]*[A-Za-z0-9])?$/;

/** The longest qualified name accepted (253 for the vendor, 63 for the class, plus the device). */
export const MAX_QUALIFIED_NAME = 512;

/** What is wrong with a `vendor/class` kind, or undefined. */
export function kindProblem(kind: string): string | undefined {
  const slash = kind.indexOf('/');
  if (slash < 0) return `kind ${JSON.stringify(kind)} is not "vendor/class"`;
  const vendor = kind.slice(0, slash);
  const cls = kind.slice(slash + 1);
  if (vendor.length > 253 || !VENDOR.test(vendor)) return `kind ${JSON.stringify(kind)}: vendor ${JSON.stringify(vendor)} is not a name of letters, digits, '.', '_' or '-' starting with a letter`;
  if (cls.length > 63 || !CLASS.test(cls)) return `kind ${JSON.stringify(kind)}: class ${JSON.stringify(cls)} is not a name of letters, digits, '.', '_' or '-' starting with a letter`;
  return undefined;
}

/** What is wrong with a device name, or undefined. */
export function deviceNameProblem(name: string): string | undefined {
  if (name.length > 253 || !DEVICE.test(name)) return `device name ${JSON.stringify(name)} is not letters, digits, '.', '_', '-' or ':' starting and ending with a letter or digit`;
  return undefined;
}

/** Splits `vendor/class=name`; undefined when it is not a valid fully-qualified CDI device name. */
export function parseQualifiedName(qualified: string): { kind: string; name: string } | undefined {
  if (qualified.length > MAX_QUALIFIED_NAME) return undefined;
  const eq = qualified.indexOf('=');
  if (eq < 0) return undefined;
  const kind = qualified.slice(0, eq);
  const name = qualified.slice(eq + 1);
  if (kindProblem(kind) || deviceNameProblem(name)) return undefined;
  return { kind, name };
}
