/** An ImageLookup over images added by the test. */
import type { ImageLookup, ResolvedImage } from '../interfaces';

export class FakeImages implements ImageLookup {
  readonly images = new Map<string, ResolvedImage>();
  async resolveImage(ref: string): Promise<ResolvedImage | undefined> {
    return this.images.get(ref);
  }
}
