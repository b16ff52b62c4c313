// The end-to-end tests drive real clients: curl, for the WebDAV front-end
// the litmus compliance suite and rclone, FUSE (fuse3) so that rclone can
// mount a share as a file system, and for the S3 API the aws cli, boto3,
// s3cmd and rclone's S3 backend, and Chromium for the web file browser.
// On a Debian or Ubuntu machine where we are root (CI, containers) missing
// ones are installed with apt-get; anywhere
// else the run stops here and says what to install, instead of failing later
// in the middle of the suite.
import { spawnSync } from "node:child_process";

/**
 * Each client: the command the tests run (or, for a Python module, the
 * check that imports it) and the Debian package and Homebrew formula that
 * bring it. fusermount3 is Linux's (the FUSE test unmounts with it);
 * elsewhere that test says why it does not run. The S3 tests call
 * /usr/bin/aws and /usr/bin/python3 by path: a pyenv shim on the PATH may
 * be another aws cli or a Python without Debian's modules.
 */
const CLIENTS = [
  { command: "curl", debian: "curl", brew: "curl" },
  { command: "litmus", debian: "litmus", brew: "litmus" },
  { command: "rclone", debian: "rclone", brew: "rclone" },
  ...(process.platform === "linux" ? [{ command: "fusermount3", debian: "fuse3", brew: "" }] : []),
  { command: "/usr/bin/aws", debian: "awscli", brew: "awscli" },
  {
    command: "boto3",
    check: '/usr/bin/python3 -c "import boto3"',
    debian: "python3-boto3",
    brew: "",
  },
  { command: "s3cmd", debian: "s3cmd", brew: "s3cmd" },
  // The web browser's tests drive the system Chromium (playwright-core never
  // downloads one); EDGEFS_CHROMIUM names another binary.
  ...(process.env.EDGEFS_CHROMIUM
    ? []
    : [{ command: "/usr/bin/chromium", debian: "chromium", brew: "--cask chromium" }]),
];

/** @param {string} script */
const succeeds = (script) => spawnSync("sh", ["-c", script], { stdio: "ignore" }).status === 0;
/** @param {string} cmd */
const onPath = (cmd) => succeeds(`command -v ${cmd}`);
/** @param {{ command: string, check?: string }} c */
const present = (c) => (c.check !== undefined ? succeeds(c.check) : onPath(c.command));
const missing = () => CLIENTS.filter((c) => !present(c));

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
