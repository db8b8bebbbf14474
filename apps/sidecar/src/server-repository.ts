// The server's model repository as the sidecar manages it: each model it serves is a relative
// symbolic link `{server repository}/{model}` -> `{cache}/{repository}/{model}`. Relative, so
// the link resolves the same in the server's container when both directories share a volume.
// Links are swapped atomically (a new link renamed over the old), so the server never reads a
// half-written model or a dangling name.
import { lstat, mkdir, readlink, rename, rm, symlink } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

export class ServerRepository {
  constructor(readonly directory: string) {}

  private path(model: string): string {
    return join(this.directory, model);
  }

  /** Makes `model` in the server repository point at `target`; fails if a real directory holds that name. */
  async link(model: string, target: string): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const path = this.path(model);
    const existing = await lstat(path).catch(() => undefined);
    if (existing !== undefined && !existing.isSymbolicLink()) {
      throw new Error(`the server repository ${this.directory} already holds a model directory '${model}' the sidecar does not manage`);
    }
    const wanted = relative(dirname(path), target);
    if (existing !== undefined && (await readlink(path)) === wanted) return;
    const temp = join(this.directory, `.${model}.link-${process.pid}`);
    await rm(temp, { force: true });
    await symlink(wanted, temp, "dir");
    await rename(temp, path);
  }

  async unlink(model: string): Promise<void> {
    const path = this.path(model);
    const existing = await lstat(path).catch(() => undefined);
    if (existing?.isSymbolicLink()) await rm(path);
  }

  /** Where `model` points (absolute), or undefined when it is not a link the sidecar made. */
  async target(model: string): Promise<string | undefined> {
    const path = this.path(model);
    const existing = await lstat(path).catch(() => undefined);
    if (!existing?.isSymbolicLink()) return undefined;
    return resolve(dirname(path), await readlink(path));
  }
}
