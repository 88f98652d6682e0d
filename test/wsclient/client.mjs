// client.mjs drives an engine's GraphQL websocket with the graphql-ws npm
// client (the graphql-transport-ws protocol), as a browser or Node app
// would, and prints everything that happens as JSON lines on stdout.
//
//   node client.mjs [url] [connection_init payload as JSON]
//
// The url and payload may instead come from STRATA_WS_URL and
// STRATA_WS_CONNECTION_PARAMS, e.g. '{"headers":{"x-hasura-admin-secret":"s"}}'.
// The client connects at once and keeps its one connection open (not
// lazy, no retries) so that every operation runs on it. Operations are
// commands read from stdin, one JSON object a line, so a test can act
// between them (commit a change, check the server):
//
//   {"cmd":"subscribe","id":"live","query":"subscription { ... }","variables":{}}
//   {"cmd":"unsubscribe","id":"live"}
//   {"cmd":"exit"}                       (so does the end of stdin)
//
// A query or mutation is "subscribe"d too: graphql-ws carries every
// operation the same way. Output lines have an "event":
//
//   connected {payload}          connection_ack received
//   send / recv {message}        every protocol message, raw, either way
//   next {id, payload}           a result for the operation id
//   error {id, errors | close}   the operation failed: its GraphQL errors,
//                                or the close that ended the connection
//   complete {id}                the operation is over (server or client)
//   unsubscribed {id}            the client has stopped the operation
//   closed {code, reason}        the connection closed
//   fatal {message}              the client gave up on the connection
//   exit                         last line, before a clean exit
import { createInterface } from "node:readline";

import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2] ?? process.env.STRATA_WS_URL;
const params = process.argv[3] ?? process.env.STRATA_WS_CONNECTION_PARAMS;
if (!url) {
  console.error("usage: node client.mjs <ws url> [connection params JSON]");
  process.exit(2);
}

function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

// parse shows a frame as JSON when it is JSON, as text otherwise.
function parse(data) {
  try {
    return JSON.parse(String(data));
  } catch {
    return String(data);
  }
}

// TracingWebSocket is ws's WebSocket with every outgoing frame printed;
// incoming ones are printed from the client's "message" event.
class TracingWebSocket extends WebSocket {
  send(data, ...rest) {
    emit("send", { message: parse(data) });
    return super.send(data, ...rest);
  }
}

// socketOpen is whether the client's socket is open; closedNow, when
// set, is called once it has closed.
let socketOpen = false;
let closedNow;

const client = createClient({
  url,
  webSocketImpl: TracingWebSocket,
  connectionParams: params ? JSON.parse(params) : undefined,
  lazy: false,
  retryAttempts: 0,
  onNonLazyError: (err) => emit("fatal", { message: describe(err) }),
  on: {
    opened: () => (socketOpen = true),
    connected: (_socket, payload) => emit("connected", { payload: payload ?? null }),
    message: (message) => emit("recv", { message }),
    closed: (event) => {
      socketOpen = false;
      emit("closed", { code: event.code, reason: event.reason });
      closedNow?.();
    },
  },
});

function describe(err) {
  if (err && typeof err === "object" && "code" in err) return `close ${err.code}: ${err.reason}`;
  return String(err?.message ?? err);
}

// operations maps an operation id to the function that stops it.
const operations = new Map();

function subscribe({ id, query, variables, operationName }) {
  const stop = client.subscribe(
    { query, variables, operationName },
    {
      next: (payload) => emit("next", { id, payload }),
      error: (err) => {
        operations.delete(id);
        if (Array.isArray(err)) emit("error", { id, errors: err });
        else if (err && typeof err === "object" && "code" in err) emit("error", { id, close: { code: err.code, reason: err.reason } });
        else emit("error", { id, message: describe(err) });
      },
      complete: () => {
        operations.delete(id);
        emit("complete", { id });
      },
    },
  );
  operations.set(id, stop);
}

let exiting = false;

// exit closes the connection and waits for the close handshake, so the
// server sees a clean close and the output its "closed".
async function exit() {
  if (exiting) return;
  exiting = true;
  const closed = socketOpen ? new Promise((resolve) => (closedNow = resolve)) : undefined;
  await client.dispose();
  await closed;
  emit("exit");
  process.exit(0);
}

const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  switch (cmd.cmd) {
    case "subscribe":
      subscribe(cmd);
      break;
    case "unsubscribe":
      operations.get(cmd.id)?.();
      emit("unsubscribed", { id: cmd.id });
      break;
    case "exit":
      exit();
      break;
    default:
      emit("fatal", { message: `unknown command ${line}` });
  }
});
commands.on("close", exit);
