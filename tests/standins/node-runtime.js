// Stand-in Node.js runtime interface client for the test base image.
//
// Speaks the Lambda Runtime API (2018-06-01) against AWS_LAMBDA_RUNTIME_API:
// load the handler named in _HANDLER ("file.export", file relative to
// LAMBDA_TASK_ROOT, .js/.mjs/.cjs), then loop on /invocation/next, call the
// handler (async or callback style) and post /response or /error.
"use strict";
const http = require("node:http");
const path = require("node:path");
const fs = require("node:fs");
const { pathToFileURL } = require("node:url");

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: "/2018-06-01/runtime" + urlPath, agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorPayload(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return JSON.stringify({
    errorType: e.name || "Error",
    errorMessage: e.message,
    trace: (e.stack || "").split("\n"),
  });
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${spec}`), { name: "Runtime.MalformedHandlerName" });
  const root = process.env.LAMBDA_TASK_ROOT || "/var/task";
  const base = path.resolve(root, spec.slice(0, dot));
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${spec.slice(0, dot)}'`), { name: "Runtime.ImportModuleError" });
  }
  const mod = await import(pathToFileURL(file).href);
  const name = spec.slice(dot + 1);
  const fn = mod[name] ?? (mod.default && mod.default[name]);
  if (typeof fn !== "function") {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  }
  return fn;
}

function invokeHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    try {
      const out = fn(event, context, callback);
      if (out && typeof out.then === "function") out.then(resolve, reject);
      else if (fn.length < 3) resolve(out);
    } catch (err) {
      reject(err);
    }
  });
}

async function main() {
  let fn;
  try {
    fn = await loadHandler();
  } catch (err) {
    console.error(err);
    await call("POST", "/init/error", errorPayload(err), { "Lambda-Runtime-Function-Error-Type": err.name });
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
    const context = {
      awsRequestId: id,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      callbackWaitsForEmptyEventLoop: true,
    };
    try {
      const event = JSON.parse(next.body.toString("utf8"));
      const result = await invokeHandler(fn, event, context);
      await call("POST", `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      console.error(err);
      await call("POST", `/invocation/${id}/error`, errorPayload(err), {
        "Lambda-Runtime-Function-Error-Type": (err && err.name) || "Error",
      });
    }
  }
}

main();
