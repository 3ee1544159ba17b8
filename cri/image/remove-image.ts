/** RemoveImage: by id, tag or digest; unknown images succeed (CRI idempotency). */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ImageHandlerDeps } from './image-handlers';

/** Handler for RemoveImage. */
export function removeImage(deps: ImageHandlerDeps) {
  return async (request: runtime.v1.IRemoveImageRequest, _call: CallContext): Promise<runtime.v1.IRemoveImageResponse> => {
    const image = request.image?.image;
    if (!image) throw new InvalidArgumentError('image.image is required');
    await deps.images.removeImage(image);
    return {};
  };
}
