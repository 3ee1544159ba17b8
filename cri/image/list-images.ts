/** ListImages: every image, or the one the filter names. */
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { toCriImage } from './image-convert';
import type { ImageHandlerDeps } from './image-handlers';

/** Handler for ListImages. */
export function listImages(deps: ImageHandlerDeps) {
  return (request: runtime.v1.IListImagesRequest, _call: CallContext): runtime.v1.IListImagesResponse => {
    const filter = request.filter?.image?.image || undefined;
    return { images: deps.images.listImages(filter).map(toCriImage) };
  };
}
