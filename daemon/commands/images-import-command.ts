/**
 * `berthd images import FILE [--name REF]`: loads an OCI image layout (dir or tar) or a
 * docker-archive tarball into the image store of the configured root, for nodes without a
 * registry. The store belongs to one process at a time (its index lives in berthd's memory and
 * opening it recovers interrupted writes), so the import refuses while a berthd serves the
 * configured socket: stop berthd, import, start it again.
 */
import * as net from 'node:net';
import { createLogger } from '../../common/logger';
import { describeError } from '../../common/errors';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { loadNativeBinding } from '../../native/addon';
import { derivedPaths } from '../derived-paths';
import { EXIT_FAILURE, EXIT_USAGE, type BerthdCommand } from './command';
import { loadConfigOrReport } from './load-config';

export const imagesImportCommand: BerthdCommand = {
  words: ['images', 'import'],
  operand: '<file>',
  summary: 'Import an OCI layout or docker-archive tarball into the image store (berthd stopped; --name <ref>).',
  async run(ctx) {
    const loaded = loadConfigOrReport(ctx);
    if (!loaded) return EXIT_USAGE;
    const { config } = loaded;
    const file = ctx.args.command[ctx.args.command.length - 1];
    if (await socketIsServed(config.listen)) {
      ctx.stderr(`berthd: images import: a berthd is serving ${config.listen}; stop it, import, then start it again (the image store is used by one process at a time)\n`);
      return EXIT_FAILURE;
    }
    try {
      const images = await ImageService.create({
        dir: derivedPaths(config).imagesDir,
        registries: EMPTY_REGISTRIES_CONFIG,
        native: loadNativeBinding(),
        logger: createLogger({ level: 'warn', format: 'text' }),
      });
      const imported = await images.importArchive(file, ctx.args.commandFlags?.name);
      for (const image of imported) ctx.stdout(`imported ${image.id} ${[...image.repoTags, ...image.repoDigests].join(' ')}\n`);
      return 0;
    } catch (err) {
      ctx.stderr(`berthd: images import ${file}: ${describeError(err)}\n`);
      return EXIT_FAILURE;
    }
  },
};

/** True when something accepts connections on the unix socket `path`. */
function socketIsServed(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
