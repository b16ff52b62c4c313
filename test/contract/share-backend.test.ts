import { env } from "cloudflare:workers";
import { ShareBackend, shareStub } from "../../src/backends/share-backend";
import { configFrom } from "../../src/config";
import { SubrequestBudget } from "../../src/core/budget";
import { shareClient } from "../../src/durable/share-client";
import { runBackendContract } from "./backend.case";

let n = 0;

// ShareBackend built as src/backends/resolve.ts builds it: the real ShareDO stub and R2 binding.
runBackendContract({
  name: "ShareBackend (ShareDO + R2)",
  async newBackend() {
    const share = `contract-${n++}`;
    const api = shareClient(shareStub(env, "main", share));
    await api.createShare("main", share, true);
    const budget = new SubrequestBudget(configFrom(env).subrequestBudget);
    return new ShareBackend(api, env.BLOBS, configFrom(env), () => {}, budget);
  },
});
