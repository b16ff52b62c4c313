import type { TestProject } from "vitest/node";
import { startServer } from "../../scripts/dev-server.mjs";
import { E2E_VARS } from "./server-vars.js";

declare module "vitest" {
  export interface ProvidedContext {
    edgefsUrl: string;
    edgefsToken: string;
  }
}

/** One real `wrangler dev` for the whole e2e run, on a free loopback port. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServer({ vars: E2E_VARS });
  project.provide("edgefsUrl", server.url);
  project.provide("edgefsToken", server.token);
  return async () => {
    await server.stop();
  };
}
