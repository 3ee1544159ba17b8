/**
 * The /etc/passwd and /etc/group of each image, read once. A new container's rootfs shows exactly
 * its image (the overlay's upper layer is empty at CreateContainer), and an image never changes
 * (its id is its config digest; its layers are verified and read-only), so the files read through
 * the first container's rootfs hold for every later container of that image. Saves the ~10
 * file-system round trips of a safe in-root lookup on each CreateContainer.
 */
import type { ResolvedUser } from './spec/inputs';
import { readAccounts, resolveUserFrom, type Accounts, type UserRequest } from './user';

export class ImageAccounts {
  /** By image id, least recently used first. */
  private readonly byImage = new Map<string, Promise<Accounts>>();

  constructor(private readonly maxImages = 128) {}

  /** Resolves `req` against the accounts of image `imageId`, whose fresh rootfs is mounted at `rootfs`. */
  async resolve(imageId: string, rootfs: string, req: UserRequest): Promise<ResolvedUser> {
    let accounts = this.byImage.get(imageId);
    if (accounts) {
      this.byImage.delete(imageId); // re-inserted below as the most recently used
    } else {
      accounts = readAccounts(rootfs);
      // A failed read is not remembered: the next container tries again.
      accounts.catch(() => this.byImage.get(imageId) === accounts && this.byImage.delete(imageId));
    }
    this.byImage.set(imageId, accounts);
    if (this.byImage.size > this.maxImages) this.byImage.delete(this.byImage.keys().next().value!);
    const { passwd, groups } = await accounts;
    return resolveUserFrom(req, passwd, groups);
  }

  /** Images whose accounts are held (for tests). */
  get size(): number {
    return this.byImage.size;
  }
}
