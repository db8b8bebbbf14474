import { ParseResult, Schema } from "effect";
import type { ServerTemplate } from "./types.js";
import { Issues, isPlainObject, show, type SpecPath, plain } from "./issues.js";
import { encodeResources, readResources, ResourcesSchema, type ResourcesInput } from "./resources.js";
import { DEFAULT_GROUP, DEFAULT_IMAGE, DEFAULT_TEMPLATE_GPUS } from "./defaults.js";
import { Word } from "./numbers.js";

/** What the server image must satisfy (the allowlist); the control plane passes its configuration. */
export interface ImageOptions {
  /** Allowed images: exact references, or prefixes ending in `*` (`nvcr.io/nvidia/tritonserver:*`). Absent: any image. */
  readonly imageAllowlist?: readonly string[];
}

export interface ServerTemplateInput {
  readonly image?: string;
  readonly resources: ResourcesInput;
  readonly group?: string;
}

export const TEMPLATE_FIELDS = ["image", "resources", "group"] as const;

export const ServerTemplateSchema = Schema.Struct({
  image: Schema.String,
  resources: ResourcesSchema,
  group: Schema.String,
});

export const Image = Word("image", 512);
const GROUP = /^[a-z][a-z0-9_-]{0,62}$/;
export const Group = Schema.String.pipe(Schema.filter((s) => GROUP.test(s))).annotations({
  message: plain((issue) => `${show(issue.actual)} is not a group: use a backend family like onnxruntime or pytorch_libtorch (lowercase letters, digits, '_' and '-')`),
});

export const imageAllowed = (image: string, allowlist: readonly string[] | undefined): boolean =>
  image === DEFAULT_IMAGE || allowlist === undefined ||
  allowlist.some((entry) => (entry.endsWith("*") ? image.startsWith(entry.slice(0, -1)) : image === entry));

/** Read an image field and check it against the allowlist. */
export const readImage = (object: Record<string, unknown>, path: SpecPath, issues: Issues, options: ImageOptions): string | undefined => {
  // An empty image is the same as none: the configured default (encoding writes it that way).
  const image = object.image === DEFAULT_IMAGE ? DEFAULT_IMAGE : issues.optional(object, "image", Image, path, DEFAULT_IMAGE);
  if (image !== undefined && !imageAllowed(image, options.imageAllowlist)) {
    issues.add([...path, "image"], image, `image ${show(image)} is not on the allowlist (${options.imageAllowlist!.join(", ") || "empty"}): leave image out for the default, or ask an operator to allow it`);
    return undefined;
  }
  return image;
};

/** Read a server template at `path`: `resources.gpuMemory` is required (the GPU memory of one instance). */
export const readServerTemplate = (value: unknown, path: SpecPath, issues: Issues, options: ImageOptions): ServerTemplate | undefined => {
  const object = issues.object(value, path, TEMPLATE_FIELDS, "a server template");
  if (object === undefined) return undefined;
  const before = issues.list.length;
  const image = readImage(object, path, issues, options);
  const group = object.group === DEFAULT_GROUP ? DEFAULT_GROUP : issues.optional(object, "group", Group, path, DEFAULT_GROUP);
  const resources = readResources(object.resources, [...path, "resources"], issues, {
    gpus: DEFAULT_TEMPLATE_GPUS,
    gpuMemory: { missing: "gpuMemory is missing: give the GPU memory of one instance, e.g. 16Gi" },
  });
  if (issues.list.length > before) return undefined;
  return { image: image!, group: group!, resources: resources! };
};

export const encodeServerTemplate = (t: ServerTemplate): Required<ServerTemplateInput> => ({
  image: t.image,
  resources: encodeResources(t.resources),
  group: t.group,
});

/** Schema from the user form, with the image allowlist from `options`. */
export const serverTemplateFromInput = (options: ImageOptions = {}): Schema.Schema<ServerTemplate, ServerTemplateInput> =>
  Schema.transformOrFail(
    Schema.declare((u): u is ServerTemplateInput => isPlainObject(u), {
      identifier: "ServerTemplateInput",
      message: plain((issue) => `a server template must be an object with image, resources and group, not ${show(issue.actual)}`),
    }),
    ServerTemplateSchema,
    {
      strict: true,
      decode: (input, _, ast) => {
        const issues = new Issues();
        const template = readServerTemplate(input, [], issues, options);
        return issues.result(ast, input, () => template!);
      },
      encode: (t) => ParseResult.succeed(encodeServerTemplate(t)),
    },
  );
