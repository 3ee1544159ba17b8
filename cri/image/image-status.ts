/** ImageStatus: the image, or image=null when absent; verbose adds the image config. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { toCriImage } from './image-convert';
import type { ImageHandlerDeps } from './image-handlers';

/** Handler for ImageStatus. */
export function imageStatus(deps: ImageHandlerDeps) {
  return async (request: runtime.v1.IImageStatusRequest, _call: CallContext): Promise<runtime.v1.IImageStatusResponse> => {
    const image = request.image?.image;
    if (!image) throw new InvalidArgumentError('image.image is required');
    const info = deps.images.imageStatus(image);
    if (!info) return { image: null, info: {} };
    const out: Record<string, string> = {};
    if (request.verbose) {
      const config = await deps.images.imageConfigJson(info.id);
      // containerd and cri-o both put the image config under "info" as imageSpec.
      out['info'] = JSON.stringify({ id: info.id, imageSpec: config ? (JSON.parse(config) as unknown) : null });
    }
    return { image: toCriImage(info), info: out };
  };
}
