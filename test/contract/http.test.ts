import { runBackendContract } from "./backend.case";
import { HttpBackend, newShare } from "./http-backend";

// The native /v1 API, through the whole Worker, over share storage.
runBackendContract({
  name: "native /v1 API over share storage",
  newBackend: async () => new HttpBackend(await newShare("http")),
  skip: [
    {
      reason:
        "the /v1 API has no key listing: S3's ListObjectsV2 is the S3 front-end's (src/s3api)",
      tests: [
        "listKeys: whole keys in byte order; files as stat gives them, an empty directory as dir/",
        "listKeys: the delimiter rolls up the prefix's directories; a prefix may end mid-name",
        "listKeys: startAfter may be any string; next pages without gaps or repeats",
        "listKeys: a bad prefix, startAfter or limit is EINVAL",
      ],
    },
    {
      reason: "the root's URL ends in '/', which PUT reads as mkdir: a body there is EINVAL",
      tests: ["write: onto the root is EISDIR"],
    },
    {
      reason: "the /v1 API's overwrite is a boolean: \"any\" is WebDAV's Overwrite: T",
      tests: [
        'move: overwrite "any" replaces whatever is there',
        'copy: overwrite "any" replaces whatever is there',
      ],
    },
  ],
});
