/** PullImage: pulls an image with the request's credentials; image_ref is the image id. */
import { InvalidArgumentError } from '../../common/errors';
import type { RegistryCredentials } from '../../image/registry-auth';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ImageHandlerDeps } from './image-handlers';
import { afterReply } from '../pre-encoded';
import { imageStatusAnswer } from './image-status';

/** The request's AuthConfig as credentials (undefined when it carries none). */
function credentialsOf(auth: runtime.v1.IAuthConfig | null | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  const creds: RegistryCredentials = {
    username: auth.username || undefined,
    password: auth.password || undefined,
    auth: auth.auth || undefined,
    identityToken: auth.identityToken || undefined,
    registryToken: auth.registryToken || undefined,
  };
  if (!Object.values(creds).some((v) => v !== undefined)) return undefined;
  // Scopes the credentials: they go to this registry only (see image/image-puller.ts).
  return auth.serverAddress ? { ...creds, serverAddress: auth.serverAddress } : creds;
}

/** Handler for PullImage. */
export function pullImage(deps: ImageHandlerDeps) {
  return async (request: runtime.v1.IPullImageRequest, call: CallContext): Promise<runtime.v1.IPullImageResponse> => {
    const image = request.image?.image;
    if (!image) throw new InvalidArgumentError('image.image is required');
    const info = await deps.images.pullImage(image, { credentials: credentialsOf(request.auth), signal: call.signal });
    afterReply(() => imageStatusAnswer(info));
    return { imageRef: info.id };
  };
}
