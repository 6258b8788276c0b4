#!/usr/bin/env node
// Stand-in `npm` for the test node image (Debian's nodejs has no npm):
// `npm start`, `npm run <script>` run package.json scripts through sh;
// `npm install` succeeds only when there is nothing to install.
"use strict";
const fs = require("node:fs");
const { spawnSync } = require("node:child_process");

const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
const [command, name] = process.argv.slice(2);
const scripts = pkg.scripts || {};
let script;
if (command === "start") script = scripts.start || "node server.js";
else if (command === "run") script = scripts[name];
else if (command === "install" || command === "ci") {
  const deps = Object.keys(pkg.dependencies || {});
  if (deps.length) {
    console.error(`stand-in npm cannot install ${deps.join(", ")}`);
    process.exit(1);
  }
  process.exit(0);
}
if (!script) {
  console.error(`npm: missing script: ${name || command}`);
  process.exit(1);
}
const env = { ...process.env, PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH}` };
const result = spawnSync("sh", ["-c", script], { stdio: "inherit", env });
process.exit(result.status === null ? 1 : result.status);
