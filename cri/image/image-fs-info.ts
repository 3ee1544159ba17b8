/** ImageFsInfo: usage of the filesystem holding the image store. */
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ImageHandlerDeps } from './image-handlers';

/** Handler for ImageFsInfo. */
export function imageFsInfo(deps: ImageHandlerDeps) {
  return async (_request: runtime.v1.IImageFsInfoRequest, _call: CallContext): Promise<runtime.v1.IImageFsInfoResponse> => {
    const usage = await deps.images.imageFsInfo();
    return {
      imageFilesystems: [
        {
          timestamp: Number(usage.timestampNs),
          fsId: { mountpoint: usage.mountpoint },
          usedBytes: { value: usage.usedBytes },
          inodesUsed: { value: usage.inodesUsed },
        },
      ],
      containerFilesystems: [],
    };
  };
}
