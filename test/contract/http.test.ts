import { runBackendContract } from "./backend.case";
import { HttpBackend, newShare } from "./http-backend";

// The native /v1 API, through the whole Worker, over share storage.
runBackendContract({
  name: "native /v1 API over share storage",
  newBackend: async () => new HttpBackend(await newShare("http")),
  skip: [
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
