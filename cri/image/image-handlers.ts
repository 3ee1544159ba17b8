/**
 * The ImageService RPCs as one CriHandlers map for the daemon to merge. `ImageServiceApi` is the
 * narrow interface these handlers need; image/ImageService implements it.
 */
import type { ImageFsUsage, ImageInfo } from '../../image/image-service';
import type { RegistryCredentials } from '../../image/registry-auth';
import type { CriHandlers } from '../handlers';
import { imageFsInfo } from './image-fs-info';
import { imageStatus } from './image-status';
import { listImages } from './list-images';
import { pullImage } from './pull-image';
import { removeImage } from './remove-image';

/** What the image handlers call (implemented by image/ImageService). */
export interface ImageServiceApi {
  pullImage(image: string, options: { credentials?: RegistryCredentials; signal?: AbortSignal }): Promise<ImageInfo>;
  /** Undefined when absent (not an error). */
  imageStatus(image: string): ImageInfo | undefined;
  /** The image config JSON, for verbose status. */
  imageConfigJson(id: string): Promise<string | undefined>;
  listImages(filter?: string): ImageInfo[];
  /** Idempotent: unknown images succeed. */
  removeImage(image: string): Promise<void>;
  imageFsInfo(): Promise<ImageFsUsage>;
}

/** Dependencies of the image handlers. */
export interface ImageHandlerDeps {
  images: ImageServiceApi;
}

/** The ImageService RPC handlers. */
export function imageServiceHandlers(deps: ImageHandlerDeps): CriHandlers {
  return {
    PullImage: pullImage(deps),
    ImageStatus: imageStatus(deps),
    ListImages: listImages(deps),
    RemoveImage: removeImage(deps),
    ImageFsInfo: imageFsInfo(deps),
  };
}
