// The API: a plain Node.js web app on PORT (8080, SCF's convention).
const http = require("node:http");

const server = http.createServer((req, res) => {
  if (req.url === "/api/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end("ok");
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({
    hello: process.env.HELLO,
    path: req.url,
    originType: req.headers["x-origin-type"] || null,
    forwardedHost: req.headers["x-forwarded-host"] || null,
  }));
});

server.listen(Number(process.env.PORT || 8080), () => {
  console.log(`api listening on ${server.address().port}`);
});
