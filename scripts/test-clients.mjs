// The end-to-end tests drive real clients: curl, for the WebDAV front-end
// the litmus compliance suite and rclone, and FUSE (fuse3) so that rclone can
// mount a share as a file system. On a Debian or Ubuntu machine where we are
// root (CI, containers) missing ones are installed with apt-get; anywhere
// else the run stops here and says what to install, instead of failing later
// in the middle of the suite.
import { spawnSync } from "node:child_process";

/**
 * Each client: the command the tests run and the Debian package and Homebrew
 * formula that bring it. fusermount3 is Linux's (the FUSE test unmounts with
 * it); elsewhere that test says why it does not run.
 */
const CLIENTS = [
  { command: "curl", debian: "curl", brew: "curl" },
  { command: "litmus", debian: "litmus", brew: "litmus" },
  { command: "rclone", debian: "rclone", brew: "rclone" },
  ...(process.platform === "linux" ? [{ command: "fusermount3", debian: "fuse3", brew: "" }] : []),
];

/** @param {string} cmd */
const onPath = (cmd) =>
  spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const missing = () => CLIENTS.filter((c) => !onPath(c.command));

let absent = missing();
if (absent.length > 0 && process.getuid?.() === 0 && onPath("apt-get")) {
  const packages = absent.map((c) => c.debian);
  console.error(`installing ${packages.join(", ")} for the end-to-end tests (apt-get)…`);
  /** @param {string[]} args */
  const apt = (...args) =>
    spawnSync("apt-get", args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  apt("update", "-qq");
  apt("install", "-y", "-qq", ...packages);
  absent = missing();
}
if (absent.length > 0) {
  console.error(
    `The end-to-end tests need ${absent.map((c) => c.command).join(", ")} on the PATH.\n` +
      `  Debian/Ubuntu: sudo apt-get install ${absent.map((c) => c.debian).join(" ")}\n` +
      `  macOS:         brew install ${absent.map((c) => c.brew).join(" ")}`,
  );
  process.exit(1);
}
