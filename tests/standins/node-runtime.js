// Stand-in Node.js runtime interface client for the test base image.
//
// Speaks the Lambda Runtime API (2018-06-01) against AWS_LAMBDA_RUNTIME_API:
// load the handler named in _HANDLER ("file.export", file relative to
// LAMBDA_TASK_ROOT, .js/.mjs/.cjs), then loop on /invocation/next, call the
// handler (async or callback style) and post /response or /error.
//
// Response streaming as the real runtime client does it: a handler wrapped in
// the global awslambda.streamifyResponse gets a writable stream; its bytes go
// out as one chunked POST /response with Lambda-Runtime-Function-Response-Mode:
// streaming; awslambda.HttpResponseStream.from(stream, {statusCode, headers,
// cookies}) switches the content type to the http-integration-response type
// and writes the JSON prelude and eight NUL bytes before the first body byte;
// an error after the stream started is reported in the trailers
// Lambda-Runtime-Function-Error-Type / -Body (base64 of the error JSON).
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

const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response";

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = true;
    return handler;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(PRELUDE_TYPE);
      stream.prelude = Buffer.concat([Buffer.from(JSON.stringify(prelude || {})), Buffer.alloc(8)]);
      return stream;
    },
  },
};

// One streamed answer: the POST starts at the first write (or at the end).
function responseStream(id) {
  const { Writable } = require("node:stream");
  let req = null;
  let contentType = "application/octet-stream";
  let done;
  const finished = new Promise((resolve, reject) => (done = { resolve, reject }));
  const open = () => {
    if (req) return req;
    req = http.request({
      host: apiHost,
      port: apiPort,
      method: "POST",
      path: `/2018-06-01/runtime/invocation/${id}/response`,
      agent,
      headers: {
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
        "Content-Type": contentType,
        Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
      },
    }, (res) => { res.resume(); res.on("end", () => done.resolve()); });
    req.on("error", (err) => done.reject(err));
    if (stream.prelude) req.write(stream.prelude);
    return req;
  };
  const stream = new Writable({
    write(chunk, _enc, cb) { open().write(chunk, cb); },
    final(cb) { open().end(); cb(); },
  });
  stream.setContentType = (type) => { contentType = type; };
  stream.fail = (err) => {
    const e = err instanceof Error ? err : new Error(String(err));
    const r = open();
    r.addTrailers({
      "Lambda-Runtime-Function-Error-Type": e.name || "Error",
      "Lambda-Runtime-Function-Error-Body": Buffer.from(errorPayload(e)).toString("base64"),
    });
    r.end();
  };
  stream.finished = finished;
  return stream;
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
    if (fn[STREAMING]) {
      const stream = responseStream(id);
      try {
        const event = JSON.parse(next.body.toString("utf8"));
        await fn(event, stream, context);
        if (!stream.writableEnded) stream.end();
      } catch (err) {
        console.error(err);
        stream.fail(err);
      }
      await stream.finished.catch((err) => console.error(err));
      continue;
    }
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
