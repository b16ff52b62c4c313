import { createApp } from "./app";

export { Registry } from "./durable/registry";
export { SecretStore } from "./durable/secret-store";
export { ShareDO } from "./durable/share-do";
export { TokenStore } from "./durable/token-store";
export { Edgefs } from "./rpc/entrypoint";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
