/**
 * ImageFsInfo: usage of the filesystem holding the image store. Containers' writable layers live
 * on the same filesystem (under the same state root), so container_filesystems repeats that entry
 * with the same mountpoint: kubelet reads equal mountpoints as one filesystem (no split image fs),
 * the same answer it infers from an empty list, but explicit for clients that read the field.
 */
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ImageHandlerDeps } from './image-handlers';

/** Handler for ImageFsInfo. */
export function imageFsInfo(deps: ImageHandlerDeps) {
  return async (_request: runtime.v1.IImageFsInfoRequest, _call: CallContext): Promise<runtime.v1.IImageFsInfoResponse> => {
    const usage = await deps.images.imageFsInfo();
    const fs = (): runtime.v1.IFilesystemUsage => ({
      timestamp: Number(usage.timestampNs),
      fsId: { mountpoint: usage.mountpoint },
      usedBytes: { value: usage.usedBytes },
      inodesUsed: { value: usage.inodesUsed },
    });
    return { imageFilesystems: [fs()], containerFilesystems: [fs()] };
  };
}
