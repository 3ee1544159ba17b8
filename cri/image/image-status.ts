/**
 * ImageStatus: the image, or image=null when absent; verbose adds the image config. The plain
 * answer is built and encoded once per image state (the image layer hands out one frozen
 * ImageInfo per stored record, and a pull, tag or removal replaces the record). PullImage has
 * the answer for the pulled image built once its reply has left, before the ImageStatus that follows.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { ImageInfo } from '../../image/image-service';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { owned, withEncoding } from '../pre-encoded';
import { toCriImage } from './image-convert';
import type { ImageHandlerDeps } from './image-handlers';

const NO_INFO: Record<string, string> = Object.freeze({});

const answers = new WeakMap<ImageInfo, runtime.v1.IImageStatusResponse>();

/** The plain ImageStatus answer for `info`, built and encoded once per (frozen, shared) ImageInfo. */
export function imageStatusAnswer(info: ImageInfo): runtime.v1.IImageStatusResponse {
  if (!Object.isFrozen(info)) return { image: toCriImage(info), info: {} };
  let answer = answers.get(info);
  if (!answer) {
    const response = Object.freeze({ image: Object.freeze(toCriImage(info)), info: NO_INFO });
    answer = withEncoding(response, owned(runtime.v1.ImageStatusResponse.encode(response).finish()));
    answers.set(info, answer);
  }
  return answer;
}

/** Handler for ImageStatus. */
export function imageStatus(deps: ImageHandlerDeps) {
  // Answered synchronously unless verbose (the image config is read from the store).
  return (request: runtime.v1.IImageStatusRequest, _call: CallContext): runtime.v1.IImageStatusResponse | Promise<runtime.v1.IImageStatusResponse> => {
    const image = request.image?.image;
    if (!image) throw new InvalidArgumentError('image.image is required');
    const info = deps.images.imageStatus(image);
    if (!info) return { image: null, info: {} };
    return request.verbose ? verboseImageStatus(deps, info) : imageStatusAnswer(info);
  };
}

async function verboseImageStatus(deps: ImageHandlerDeps, info: ImageInfo): Promise<runtime.v1.IImageStatusResponse> {
  const config = await deps.images.imageConfigJson(info.id);
  // containerd and cri-o both put the image config under "info" as imageSpec.
  const out = { info: JSON.stringify({ id: info.id, imageSpec: config ? (JSON.parse(config) as unknown) : null }) };
  return { image: toCriImage(info), info: out };
}
