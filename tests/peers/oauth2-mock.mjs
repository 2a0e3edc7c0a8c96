// Starts npm oauth2-mock-server (8.2.3) on 127.0.0.1 for fdk-emu's fault tests and prints
// "LISTENING <port>" once it accepts connections.
//
// The provider itself is the real oauth2-mock-server (its token, authorize and userinfo
// endpoints). Faults are injected through its `beforeResponse` hook, and a thin wrapper in
// front of its request handler adds what hooks cannot do: delaying the token endpoint,
// answering garbage, and counting every token request so tests can assert how many refreshes
// fdk-emu made.
//
//   POST /_control  {"delay_ms":0, "refresh":"ok"|"invalid_grant"|"garbage"|"server_error",
//                    "code":"ok"|"garbage", "expires_in":3600|null, "require_basic":false,
//                    "no_refresh_token":false}   (fields merge into the current mode)
//   GET  /_stats    {"token_requests":[{"grant_type","basic","body_secret","client_id",
//                                       "headers"}...]}
//
// Usage: FDK_EMU_TEST_PEERS=<.test-peers> node tests/peers/oauth2-mock.mjs [port]
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const peers = process.env.FDK_EMU_TEST_PEERS;
if (!peers) {
  console.error("FDK_EMU_TEST_PEERS is not set; run ./scripts/test");
  process.exit(2);
}
const lib = await import(
  pathToFileURL(path.join(peers, "node/node_modules/oauth2-mock-server/dist/index.mjs")).href
);

const issuer = new lib.OAuth2Issuer();
await issuer.keys.generate("RS256");
const service = new lib.OAuth2Service(issuer);

const mode = {
  delay_ms: 0,
  refresh: "ok",
  code: "ok",
  expires_in: 3600,
  require_basic: false,
  no_refresh_token: false,
};
const stats = { token_requests: [] };

service.on("beforeResponse", (response, req) => {
  const grant = req.body && req.body.grant_type;
  const basic = (req.headers.authorization || "").startsWith("Basic ");
  if (mode.require_basic && !basic) {
    response.statusCode = 401;
    response.body = {
      error: "invalid_client",
      error_description: "client authentication must use HTTP Basic",
    };
    return;
  }
  if (grant === "refresh_token" && mode.refresh === "invalid_grant") {
    response.statusCode = 400;
    response.body = { error: "invalid_grant", error_description: "refresh token revoked" };
    return;
  }
  if (grant === "refresh_token" && mode.refresh === "server_error") {
    response.statusCode = 503;
    response.body = { error: "temporarily_unavailable" };
    return;
  }
  if (mode.expires_in === null) {
    delete response.body.expires_in;
  } else {
    response.body.expires_in = mode.expires_in;
  }
  if (mode.no_refresh_token) {
    delete response.body.refresh_token;
  }
});

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname === "/_control" && req.method === "POST") {
    const body = await readBody(req);
    try {
      Object.assign(mode, JSON.parse(body.toString() || "{}"));
    } catch (e) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(String(e));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(mode));
    return;
  }
  if (url.pathname === "/_stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
    return;
  }
  if (url.pathname === "/token" && req.method === "POST") {
    const raw = await readBody(req);
    const form = new URLSearchParams(raw.toString());
    const grant = form.get("grant_type");
    stats.token_requests.push({
      grant_type: grant,
      basic: (req.headers.authorization || "").startsWith("Basic "),
      body_secret: form.has("client_secret"),
      client_id: form.get("client_id"),
      headers: req.headers,
    });
    if (mode.delay_ms > 0) {
      await new Promise((r) => setTimeout(r, mode.delay_ms));
    }
    const garbage =
      (grant === "refresh_token" && mode.refresh === "garbage") ||
      (grant === "authorization_code" && mode.code === "garbage");
    if (garbage) {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Service temporarily rerouted</body></html>");
      return;
    }
    // Hand the already-read body to the real handler.
    const { Readable } = await import("node:stream");
    const replay = Readable.from([raw]);
    Object.assign(replay, {
      method: req.method,
      url: req.url,
      headers: req.headers,
      httpVersion: req.httpVersion,
      socket: req.socket,
      connection: req.socket,
    });
    service.requestHandler(replay, res);
    return;
  }
  service.requestHandler(req, res);
});

const port = Number(process.argv[2] || 0);
server.listen(port, "127.0.0.1", () => {
  const actual = server.address().port;
  issuer.url = `http://127.0.0.1:${actual}`;
  console.log(`LISTENING ${actual}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
