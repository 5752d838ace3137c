// Reference agent runtime on Bun. The HTTP contract is services/agent-api.openapi.yaml;
// services/agent-python implements the same contract on FastAPI.

import { TOOL_DEFINITIONS, runTool } from "./tools";
import { flushTracing, shutdownTracing, startTurnTrace, tracingEnabled, tracingStats } from "./tracing";
import { workerCount } from "./workers";

const env = process.env;
const PORT = Number(env.PORT ?? 8081);
const HOST = env.HOST ?? "127.0.0.1";
const LLM_BASE_URL = (env.LLM_BASE_URL ?? "http://127.0.0.1:8090/v1").replace(/\/+$/, "");
const LLM_MODEL = env.LLM_MODEL ?? "mock-gpt";
const LLM_API_KEY = env.LLM_API_KEY ?? "not-needed";
const LLM_TIMEOUT_MS = Number(env.LLM_TIMEOUT_MS ?? 30000);
const SESSION_TTL_MS = Number(env.SESSION_TTL_S ?? 300) * 1000;
const SESSION_MAX = Number(env.SESSION_MAX ?? 10000);
const SESSION_MAX_TURNS = Number(env.SESSION_MAX_TURNS ?? 50);
const MAX_BODY_BYTES = Number(env.MAX_BODY_BYTES ?? 65536);
const MAX_TOOL_ROUNDS = Number(env.MAX_TOOL_ROUNDS ?? 3);
const SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help.";
const WORKERS = workerCount();

type ChatMessage = {
  role: "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
};

type Session = { id: string; messages: ChatMessage[]; turns: number; expiresAt: number };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function errorResponse(status: number, code: string, message: string, headers: HeadersInit = {}): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

// ---------------------------------------------------------------------------------------
// Sessions: a Map kept in least-recently-used order, bounded by a TTL and a cap.

const sessions = new Map<string, Session>();

function touch(session: Session) {
  sessions.delete(session.id);
  session.expiresAt = Date.now() + SESSION_TTL_MS;
  sessions.set(session.id, session);
}

function findSession(id: string): Session {
  const session = sessions.get(id);
  if (!session || session.expiresAt <= Date.now()) {
    if (session) sessions.delete(id);
    throw new HttpError(404, "session_not_found", `no session '${id}'`);
  }
  touch(session);
  return session;
}

function createSession(): Session {
  const session: Session = { id: crypto.randomUUID(), messages: [], turns: 0, expiresAt: 0 };
  touch(session);
  while (sessions.size > SESSION_MAX) {
    sessions.delete(sessions.keys().next().value as string);
  }
  return session;
}

function evictExpired() {
  const now = Date.now();
  for (const [id, session] of sessions) {
    if (session.expiresAt > now) break; // oldest first: the rest are newer
    sessions.delete(id);
  }
}

setInterval(evictExpired, 5000).unref();

// ---------------------------------------------------------------------------------------
// Request bodies

const utf8 = new TextDecoder("utf-8", { fatal: true });

async function readJsonBody(request: Request, optional: boolean): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) {
    throw new HttpError(413, "body_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) {
    throw new HttpError(413, "body_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  if (bytes.length === 0 && optional) return {};
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new HttpError(400, "invalid_json", "request body is not valid JSON");
  }
}

function requireObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(422, "invalid_request", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// The LLM

type Completion = {
  message: { content: string | null; tool_calls?: ChatMessage["tool_calls"] };
  usage: { prompt_tokens: number; completion_tokens: number };
};

async function callLlm(messages: ChatMessage[]): Promise<Completion> {
  let response: Response;
  try {
    response = await fetch(`${LLM_BASE_URL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${LLM_API_KEY}` },
      body: JSON.stringify({
        model: LLM_MODEL,
        messages: [{ role: "system", content: SYSTEM_PROMPT }, ...messages],
        tools: TOOL_DEFINITIONS,
      }),
      keepalive: true,
      signal: AbortSignal.timeout(LLM_TIMEOUT_MS),
    });
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      throw new HttpError(504, "upstream_timeout", `the LLM did not answer within ${LLM_TIMEOUT_MS} ms`);
    }
    throw new HttpError(502, "upstream_error", `the LLM could not be reached: ${(error as Error)?.message}`);
  }
  let payload: any;
  try {
    payload = await response.json();
  } catch (error) {
    if ((error as Error)?.name === "TimeoutError") {
      throw new HttpError(504, "upstream_timeout", `the LLM did not answer within ${LLM_TIMEOUT_MS} ms`);
    }
    throw new HttpError(502, "upstream_error", `the LLM answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    throw new HttpError(502, "upstream_error", `the LLM answered ${response.status}`);
  }
  const message = payload?.choices?.[0]?.message;
  if (!message || typeof message !== "object") {
    throw new HttpError(502, "upstream_error", "the LLM answer has no choices[0].message");
  }
  return {
    message: { content: typeof message.content === "string" ? message.content : null, tool_calls: message.tool_calls },
    usage: {
      prompt_tokens: Number(payload?.usage?.prompt_tokens ?? 0),
      completion_tokens: Number(payload?.usage?.completion_tokens ?? 0),
    },
  };
}

// ---------------------------------------------------------------------------------------
// One conversation turn: LLM, tools when asked, LLM again.

async function sendMessage(session: Session, content: string) {
  if (session.turns >= SESSION_MAX_TURNS) {
    throw new HttpError(409, "session_full", `session has reached ${SESSION_MAX_TURNS} turns`);
  }
  const trace = startTurnTrace(session.id, content);
  const turn: ChatMessage[] = [{ role: "user", content }];
  const toolCalls: { id: string; name: string; arguments: unknown; result: string }[] = [];
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let llmCalls = 0;
  try {
    for (;;) {
      const conversation = [...session.messages, ...turn];
      const generation = trace.startObservation(
        "llm-call",
        { model: LLM_MODEL, input: conversation },
        { asType: "generation" },
      );
      let completion: Completion;
      try {
        completion = await callLlm(conversation);
      } catch (error) {
        generation.update({ level: "ERROR", statusMessage: (error as Error).message });
        generation.end();
        throw error;
      }
      llmCalls++;
      usage.prompt_tokens += completion.usage.prompt_tokens;
      usage.completion_tokens += completion.usage.completion_tokens;
      generation.update({
        output: completion.message,
        usageDetails: { input: completion.usage.prompt_tokens, output: completion.usage.completion_tokens },
      });
      generation.end();

      const calls = Array.isArray(completion.message.tool_calls) ? completion.message.tool_calls : [];
      if (calls.length === 0) {
        const reply: ChatMessage = { role: "assistant", content: completion.message.content ?? "" };
        turn.push(reply);
        break;
      }
      if (llmCalls > MAX_TOOL_ROUNDS) {
        throw new HttpError(502, "upstream_error", `the LLM asked for tools more than ${MAX_TOOL_ROUNDS} times`);
      }
      const requested = calls.map((call) => ({
        id: String(call?.id ?? ""),
        type: "function" as const,
        function: { name: String(call?.function?.name ?? ""), arguments: String(call?.function?.arguments ?? "") },
      }));
      turn.push({ role: "assistant", content: null, tool_calls: requested });
      for (const call of requested) {
        const span = trace.startObservation("tool", { input: call.function }, { asType: "tool" });
        const result = runTool(call.function.name, call.function.arguments);
        span.update({ output: result });
        span.end();
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(call.function.arguments);
        } catch {
          parsed = call.function.arguments;
        }
        toolCalls.push({ id: call.id, name: call.function.name, arguments: parsed, result });
        turn.push({ role: "tool", tool_call_id: call.id, content: result });
      }
    }
  } catch (error) {
    trace.update({ level: "ERROR", statusMessage: (error as Error).message });
    trace.end();
    throw error;
  }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  session.messages.push(...turn);
  session.turns++;
  const reply = turn[turn.length - 1];
  trace.update({ output: reply.content });
  trace.end();
  return {
    session_id: session.id,
    message: { role: "assistant", content: reply.content },
    tool_calls: toolCalls,
    usage,
    llm_calls: llmCalls,
  };
}

// ---------------------------------------------------------------------------------------
// Routes

const SESSION_PATH = /^\/v1\/sessions\/([^/]+)$/;
const MESSAGES_PATH = /^\/v1\/sessions\/([^/]+)\/messages$/;

async function route(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  const method = request.method;

  if (pathname === "/healthz") {
    if (method !== "GET") throw methodNotAllowed("GET");
    return Response.json({ status: "ok", workers: WORKERS });
  }
  if (pathname === "/tracing/stats") {
    if (method !== "GET") throw methodNotAllowed("GET");
    return Response.json(tracingStats());
  }
  if (pathname === "/tracing/flush") {
    if (method !== "POST") throw methodNotAllowed("POST");
    return Response.json(await flushTracing());
  }
  if (pathname === "/v1/sessions") {
    if (method !== "POST") throw methodNotAllowed("POST");
    requireObject(await readJsonBody(request, true));
    const session = createSession();
    return Response.json({ id: session.id }, { status: 201 });
  }
  let match = MESSAGES_PATH.exec(pathname);
  if (match) {
    if (method !== "POST") throw methodNotAllowed("POST");
    const session = findSession(decodeURIComponent(match[1]));
    const body = requireObject(await readJsonBody(request, false));
    if (typeof body.content !== "string") {
      throw new HttpError(422, "invalid_request", "'content' is required and must be a string");
    }
    if (body.content.length === 0) throw new HttpError(422, "invalid_request", "'content' must not be empty");
    return Response.json(await sendMessage(session, body.content));
  }
  match = SESSION_PATH.exec(pathname);
  if (match) {
    const id = decodeURIComponent(match[1]);
    if (method === "GET") {
      const session = findSession(id);
      return Response.json({ id: session.id, messages: session.messages });
    }
    if (method === "DELETE") {
      findSession(id);
      sessions.delete(id);
      return new Response(null, { status: 204 });
    }
    throw methodNotAllowed("GET, DELETE");
  }
  throw new HttpError(404, "not_found", `no route for ${pathname}`);
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, "method_not_allowed", `method not allowed; allowed: ${allow}`, { allow });
}

// The first process starts the others; every process listens on the same port
// (SO_REUSEPORT) and the kernel spreads new connections over them. A connection's requests
// stay with its process, so a client that keeps its connection (as k6 does, per VU) meets
// its sessions in the same process.
const children =
  WORKERS > 1 && !env.AGENT_WORKER_CHILD
    ? Array.from({ length: WORKERS - 1 }, () =>
        Bun.spawn([process.execPath, ...process.argv.slice(1)], {
          env: { ...env, AGENT_WORKER_CHILD: "1" },
          stdout: "inherit",
          stderr: "inherit",
        }),
      )
    : [];

const server = Bun.serve({
  hostname: HOST,
  port: PORT,
  reusePort: WORKERS > 1,
  // The contract's own limit (413 with a JSON error) is checked in readJsonBody.
  maxRequestBodySize: Math.max(MAX_BODY_BYTES * 4, 1024 * 1024),
  async fetch(request) {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof HttpError) {
        return errorResponse(error.status, error.code, error.message, error.headers);
      }
      console.error("unexpected error", error);
      return errorResponse(500, "internal_error", "unexpected error");
    }
  },
  error(error) {
    console.error("unexpected error", error);
    return errorResponse(500, "internal_error", "unexpected error");
  },
});

if (!env.AGENT_WORKER_CHILD) {
  console.log(
    `agent-ts listening on http://${server.hostname}:${server.port} with ${WORKERS} process(es) (LLM ${LLM_BASE_URL}, tracing ${tracingEnabled ? "on" : "off"})`,
  );
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, async () => {
    for (const child of children) child.kill(signal);
    server.stop();
    await shutdownTracing();
    process.exit(0);
  });
}
