#!/usr/bin/env node
// Stand-in `npm` for the test node image (the image carries node alone):
// `npm start`, `npm run <script>` run package.json scripts through sh;
// `npm install`/`npm ci` install nothing: projects under test carry their
// node_modules (installed on the host), which a later COPY brings in.
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
  console.log(`stand-in npm: not installing ${deps.join(", ") || "anything"} (the project carries node_modules)`);
  process.exit(0);
}
if (!script) {
  console.error(`npm: missing script: ${name || command}`);
  process.exit(1);
}
const env = { ...process.env, PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH}` };
const result = spawnSync("sh", ["-c", script], { stdio: "inherit", env });
process.exit(result.status === null ? 1 : result.status);
