/** Conversion of the image layer's view to CRI messages. */
import type { ImageInfo } from '../../image/image-service';
import type { runtime } from '../api/generated/cri';

/** The CRI Image message for a stored image. */
export function toCriImage(info: ImageInfo): runtime.v1.IImage {
  return {
    id: info.id,
    repoTags: info.repoTags,
    repoDigests: info.repoDigests,
    size: info.size,
    uid: info.uid !== undefined ? { value: info.uid } : null,
    username: info.username ?? '',
    spec: { image: info.id },
    pinned: info.pinned,
  };
}
