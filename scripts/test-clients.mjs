// The end-to-end tests drive real clients: curl, and for the WebDAV
// front-end the litmus compliance suite and rclone. On a Debian or Ubuntu
// machine where we are root (CI, containers) missing ones are installed
// with apt-get; anywhere else the run stops here and says what to install,
// instead of failing later in the middle of the suite.
import { spawnSync } from "node:child_process";

const CLIENTS = ["curl", "litmus", "rclone"];

/** @param {string} cmd */
const onPath = (cmd) =>
  spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const missing = () => CLIENTS.filter((c) => !onPath(c));

let absent = missing();
if (absent.length > 0 && process.getuid?.() === 0 && onPath("apt-get")) {
  console.error(`installing ${absent.join(", ")} for the end-to-end tests (apt-get)…`);
  /** @param {string[]} args */
  const apt = (...args) =>
    spawnSync("apt-get", args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  apt("update", "-qq");
  apt("install", "-y", "-qq", ...absent);
  absent = missing();
}
if (absent.length > 0) {
  console.error(
    `The end-to-end tests need ${absent.join(", ")} on the PATH.\n` +
      `  Debian/Ubuntu: sudo apt-get install ${absent.join(" ")}\n` +
      `  macOS:         brew install ${absent.join(" ")}`,
  );
  process.exit(1);
}
