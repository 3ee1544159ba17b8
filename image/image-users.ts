/**
 * Which containers use an image other than as their rootfs (image volumes). The container layer
 * registers and unregisters them; RemoveImage refuses an image while any is registered, since its
 * layers are mounted into those containers.
 */
import { FailedPreconditionError } from '../common/errors';

/** How many container ids an error message lists before it says "and N more". */
const SHOWN_USERS = 5;

export class ImageUsers {
  private readonly users = new Map<string, Set<string>>();

  /** Records that `containerId` uses image `imageId`. */
  add(imageId: string, containerId: string): void {
    let set = this.users.get(imageId);
    if (!set) this.users.set(imageId, (set = new Set()));
    set.add(containerId);
  }

  /** Forgets that `containerId` uses image `imageId` (unknown pairs are fine). */
  remove(imageId: string, containerId: string): void {
    const set = this.users.get(imageId);
    if (!set) return;
    set.delete(containerId);
    if (set.size === 0) this.users.delete(imageId);
  }

  /** The containers using image `imageId`, sorted. */
  usersOf(imageId: string): string[] {
    return [...(this.users.get(imageId) ?? [])].sort();
  }

  /** Throws FailedPrecondition naming the containers when image `imageId` is in use. */
  assertUnused(imageId: string, shownAs: string): void {
    const users = this.usersOf(imageId);
    if (users.length === 0) return;
    const more = users.length > SHOWN_USERS ? ` and ${users.length - SHOWN_USERS} more` : '';
    throw new FailedPreconditionError(`image ${shownAs} is in use by an image volume of container(s) ${users.slice(0, SHOWN_USERS).join(', ')}${more}`);
  }
}
