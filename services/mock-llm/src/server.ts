// Mock LLM for the reference agent stack: an OpenAI-compatible chat completions endpoint
// with a deterministic latency model, plus a Langfuse ingestion sink that counts what the
// agents' tracing SDKs send.
//
// Determinism: the answer (content, tool calls, token counts, timing) is a pure function of
// the request's model, messages and offered tools. JSON key order and whitespace do not
// matter, so two runtimes that send the same conversation get the same answer.

import { gunzipSync } from "bun";
import { countOtlpProtobufSpans, type SpanCounts } from "./otlp";

const env = process.env;
const PORT = Number(env.PORT ?? 8090);
const HOST = env.HOST ?? "127.0.0.1";
const TTFT_MS = Number(env.MOCK_TTFT_MS ?? 20);
const TOKEN_MS = Number(env.MOCK_TOKEN_MS ?? 1);
const MIN_TOKENS = Number(env.MOCK_MIN_TOKENS ?? 12);
const MAX_TOKENS = Number(env.MOCK_MAX_TOKENS ?? 40);
const MAX_BODY_BYTES = Number(env.MAX_BODY_BYTES ?? 16 * 1024 * 1024);
const MODEL = env.MOCK_MODEL ?? "mock-gpt";
// Services (OTLP `service.name`) whose span exports the sink refuses with HTTP 400, as a
// Langfuse server that rejects a batch: the SDK drops those spans. Tests use it to lose
// spans on purpose; empty (the default) accepts every export.
const SINK_REJECT_SERVICES = new Set(
  (env.MOCK_SINK_REJECT_SERVICES ?? "").split(",").map((name) => name.trim()).filter(Boolean),
);

const VOCABULARY = (
  "the a service answer request runtime tier memory latency token stream session agent " +
  "tool result value table number quick steady small large cold warm first next last " +
  "simple careful exact close open ready fast slow clear plain short long useful " +
  "benchmark measure budget limit queue worker thread event loop socket buffer cache"
).split(" ");

// ---------------------------------------------------------------------------------------
// Deterministic helpers

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Message = {
  role?: unknown;
  content?: unknown;
  tool_call_id?: unknown;
  tool_calls?: unknown;
};

type ToolCall = { id: string; type: "function"; function: { name: string; arguments: string } };

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  return "";
}

// A canonical form of the conversation, independent of JSON key order and whitespace.
function conversationKey(model: string, messages: Message[], toolNames: string[]): string {
  const parts = [model, toolNames.join(",")];
  for (const message of messages) {
    let calls = "";
    if (Array.isArray(message.tool_calls)) {
      calls = message.tool_calls
        .map((call: any) => `${call?.id}:${call?.function?.name}:${call?.function?.arguments}`)
        .join("|");
    }
    parts.push(
      `${String(message.role)}\u001f${contentText(message.content)}\u001f${String(message.tool_call_id ?? "")}\u001f${calls}`,
    );
  }
  return parts.join("\u001e");
}

function promptTokens(messages: Message[]): number {
  let total = 0;
  for (const message of messages) {
    total += 4 + Math.ceil(contentText(message.content).length / 4);
    if (Array.isArray(message.tool_calls)) total += 8 * message.tool_calls.length;
  }
  return total + 2;
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

// ---------------------------------------------------------------------------------------
// Deciding the answer

type Directives = { status?: number; delayMs?: number; tokens?: number };

// `[mock:status=503]`, `[mock:delay_ms=3000]`, `[mock:tokens=5]` in the last user message
// let tests provoke upstream errors, timeouts and fixed lengths.
function readDirectives(text: string): Directives {
  const directives: Directives = {};
  for (const match of text.matchAll(/\[mock:(status|delay_ms|tokens)=(\d+)\]/g)) {
    const value = Number(match[2]);
    if (match[1] === "status") directives.status = value;
    if (match[1] === "delay_ms") directives.delayMs = value;
    if (match[1] === "tokens") directives.tokens = value;
  }
  return directives;
}

const CALCULATE = /(?:calculate|compute|what is)\s+([-+*/().\d\s]*\d[-+*/().\d\s]*)/i;
const LOOKUP = /look\s*up\s+([A-Za-z][\w-]*)/i;

function plannedToolCalls(text: string, toolNames: string[], seed: number): ToolCall[] {
  const calls: ToolCall[] = [];
  const expression = CALCULATE.exec(text)?.[1]?.trim();
  if (toolNames.includes("calculator") && expression && /[-+*/]/.test(expression)) {
    calls.push(toolCall("calculator", { expression }, seed, calls.length));
  }
  const key = LOOKUP.exec(text)?.[1];
  if (toolNames.includes("lookup") && key) {
    calls.push(toolCall("lookup", { key }, seed, calls.length));
  }
  return calls;
}

function toolCall(name: string, args: object, seed: number, index: number): ToolCall {
  const id = `call_${((seed ^ fnv1a(`${name}${index}`)) >>> 0).toString(16).padStart(8, "0")}`;
  return { id, type: "function", function: { name, arguments: JSON.stringify(args) } };
}

type Answer = {
  content: string | null;
  toolCalls: ToolCall[];
  promptTokens: number;
  completionTokens: number;
  seed: number;
};

function decideAnswer(model: string, messages: Message[], toolNames: string[], directives: Directives): Answer {
  const seed = fnv1a(conversationKey(model, messages, toolNames));
  const last = messages[messages.length - 1];
  const prompt = promptTokens(messages);

  if (last?.role === "user") {
    const calls = plannedToolCalls(contentText(last.content), toolNames, seed);
    if (calls.length > 0) {
      const completion = calls.reduce((n, c) => n + 4 + Math.ceil(c.function.arguments.length / 4), 0);
      return { content: null, toolCalls: calls, promptTokens: prompt, completionTokens: completion, seed };
    }
  }

  const random = mulberry32(seed);
  const span = Math.max(0, MAX_TOKENS - MIN_TOKENS);
  const length = directives.tokens ?? MIN_TOKENS + Math.floor(random() * (span + 1));
  const words: string[] = [];
  if (last?.role === "tool") {
    const results: string[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i].role === "tool"; i--) {
      results.unshift(contentText(messages[i].content));
    }
    words.push(`Tool results: ${results.join("; ")}.`);
  }
  while (words.length < length) {
    words.push(VOCABULARY[Math.floor(random() * VOCABULARY.length)]);
  }
  const content = words.join(" ");
  return { content, toolCalls: [], promptTokens: prompt, completionTokens: wordCount(content), seed };
}

// ---------------------------------------------------------------------------------------
// Chat completions

const sleep = (ms: number) => (ms > 0 ? Bun.sleep(ms) : Promise.resolve());

function openAiError(status: number, message: string, type = "invalid_request_error"): Response {
  return Response.json({ error: { message, type, param: null, code: null } }, { status });
}

async function chatCompletions(request: Request): Promise<Response> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) return openAiError(413, "request body too large");
  let body: any;
  try {
    body = await request.json();
  } catch {
    return openAiError(400, "request body is not valid JSON");
  }
  if (!body || typeof body !== "object" || !Array.isArray(body.messages) || body.messages.length === 0) {
    return openAiError(400, "'messages' must be a non-empty array");
  }
  const messages: Message[] = body.messages.map((m: unknown) => (m && typeof m === "object" ? m : {}));
  const model = typeof body.model === "string" ? body.model : MODEL;
  const toolNames: string[] = Array.isArray(body.tools)
    ? body.tools.map((tool: any) => String(tool?.function?.name ?? "")).filter(Boolean).sort()
    : [];
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const directives = readDirectives(lastUser ? contentText(lastUser.content) : "");

  if (directives.delayMs) await sleep(directives.delayMs);
  if (directives.status && directives.status >= 400) {
    return openAiError(directives.status, `mock error ${directives.status} requested`, "server_error");
  }

  const answer = decideAnswer(model, messages, toolNames, directives);
  const id = `chatcmpl-${answer.seed.toString(16).padStart(8, "0")}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
  const finishReason = answer.toolCalls.length > 0 ? "tool_calls" : "stop";

  if (body.stream === true) {
    const includeUsage = body.stream_options?.include_usage === true;
    return streamAnswer(answer, { id, created, model, usage, finishReason, includeUsage });
  }

  // First token after TTFT, then one token per TOKEN_MS.
  await sleep(TTFT_MS + TOKEN_MS * Math.max(0, answer.completionTokens - 1));
  const message: Record<string, unknown> = { role: "assistant", content: answer.content };
  if (answer.toolCalls.length > 0) message.tool_calls = answer.toolCalls;
  return Response.json({
    id,
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  });
}

type StreamMeta = {
  id: string;
  created: number;
  model: string;
  usage: object;
  finishReason: string;
  includeUsage: boolean;
};

function streamAnswer(answer: Answer, meta: StreamMeta): Response {
  const encoder = new TextEncoder();
  const chunk = (delta: object, finish: string | null, extra: object = {}) =>
    encoder.encode(
      `data: ${JSON.stringify({
        id: meta.id,
        object: "chat.completion.chunk",
        created: meta.created,
        model: meta.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...extra,
      })}\n\n`,
    );
  const stream = new ReadableStream({
    async start(controller) {
      await sleep(TTFT_MS);
      if (answer.toolCalls.length > 0) {
        const toolCalls = answer.toolCalls.map((call, index) => ({ index, ...call }));
        controller.enqueue(chunk({ role: "assistant", content: null, tool_calls: toolCalls }, null));
      } else {
        const tokens = (answer.content ?? "").split(" ");
        controller.enqueue(chunk({ role: "assistant", content: tokens[0] }, null));
        for (let i = 1; i < tokens.length; i++) {
          await sleep(TOKEN_MS);
          controller.enqueue(chunk({ content: ` ${tokens[i]}` }, null));
        }
      }
      controller.enqueue(chunk({}, meta.finishReason));
      if (meta.includeUsage) {
        controller.enqueue(
          encoder.encode(
            `data: ${JSON.stringify({
              id: meta.id,
              object: "chat.completion.chunk",
              created: meta.created,
              model: meta.model,
              choices: [],
              usage: meta.usage,
            })}\n\n`,
          ),
        );
      }
      controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      controller.close();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

// ---------------------------------------------------------------------------------------
// Langfuse ingestion sink

const MAX_SPAN_NAMES = 100;
function emptySink() {
  return {
    requests: 0,
    bytes: 0,
    spans: 0,
    traces: 0,
    events: 0,
    unauthorized: 0,
    rejected: 0,
    by_path: {} as Record<string, number>,
    by_sdk: {} as Record<string, number>,
    span_names: {} as Record<string, number>,
    // Spans counted by their sender's `service.name`, and those refused per service.
    spans_by_service: {} as Record<string, number>,
    rejected_spans_by_service: {} as Record<string, number>,
  };
}
const sink = emptySink();

function resetSink() {
  recentTraces.clear();
  traceRing.fill(undefined as unknown as string);
  ringNext = 0;
  Object.assign(sink, emptySink());
}

// Traces are counted as distinct trace ids; a trace's spans may arrive in several batches.
// Only the most recent ids are remembered, so memory stays bounded: a ring of the ids in
// arrival order says which one to forget. (Forgetting the Set's first value instead walks
// past every id deleted before it, so each new trace past the cap cost tens of
// microseconds more as a sweep went on, and the sink's CPU crept up under load.)
const MAX_REMEMBERED_TRACES = 100_000;
const recentTraces = new Set<string>();
const traceRing: string[] = new Array(MAX_REMEMBERED_TRACES);
let ringNext = 0;

function rememberTrace(traceId: string) {
  if (recentTraces.has(traceId)) return;
  const forgotten = traceRing[ringNext];
  if (forgotten !== undefined) recentTraces.delete(forgotten);
  traceRing[ringNext] = traceId;
  ringNext = (ringNext + 1) % MAX_REMEMBERED_TRACES;
  recentTraces.add(traceId);
  sink.traces++;
}

function bump(table: Record<string, number>, key: string) {
  if (key in table || Object.keys(table).length < MAX_SPAN_NAMES) table[key] = (table[key] ?? 0) + 1;
}

function jsonServiceName(resource: any): string {
  for (const attribute of resource?.resource?.attributes ?? []) {
    if (attribute?.key === "service.name") return String(attribute?.value?.stringValue ?? "unknown");
  }
  return "unknown";
}

function countJsonSpans(payload: any): SpanCounts {
  const counts: SpanCounts = { spans: 0, traceIds: [], names: [], services: [] };
  for (const resource of payload?.resourceSpans ?? []) {
    const service = jsonServiceName(resource);
    for (const scope of resource?.scopeSpans ?? []) {
      for (const span of scope?.spans ?? []) {
        counts.spans++;
        counts.traceIds.push(String(span?.traceId ?? ""));
        counts.names.push(String(span?.name ?? ""));
        counts.services.push(service);
      }
    }
  }
  return counts;
}

async function ingest(request: Request, path: string): Promise<Response> {
  let bytes = new Uint8Array(await request.arrayBuffer());
  sink.requests++;
  sink.bytes += bytes.length;
  bump(sink.by_path, path);
  bump(sink.by_sdk, request.headers.get("x-langfuse-sdk-name") ?? "unknown");
  if (!(request.headers.get("authorization") ?? "").startsWith("Basic ")) sink.unauthorized++;
  try {
    if ((request.headers.get("content-encoding") ?? "").includes("gzip")) bytes = gunzipSync(bytes);
    const type = request.headers.get("content-type") ?? "";
    if (path.endsWith("/otel/v1/traces")) {
      const counts = type.includes("json")
        ? countJsonSpans(JSON.parse(new TextDecoder().decode(bytes)))
        : countOtlpProtobufSpans(bytes);
      if (counts.services.some((service) => SINK_REJECT_SERVICES.has(service))) {
        for (const service of counts.services) bump(sink.rejected_spans_by_service, service);
        return Response.json({ message: "export refused (MOCK_SINK_REJECT_SERVICES)" }, { status: 400 });
      }
      sink.spans += counts.spans;
      for (const traceId of counts.traceIds) rememberTrace(traceId);
      for (const name of counts.names) bump(sink.span_names, name);
      for (const service of counts.services) bump(sink.spans_by_service, service);
      if (type.includes("json")) return Response.json({});
      return new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    }
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    const batch: any[] = Array.isArray(payload?.batch) ? payload.batch : [];
    sink.events += batch.length;
    return Response.json(
      { successes: batch.map((event) => ({ id: String(event?.id ?? ""), status: 201 })), errors: [] },
      { status: 207 },
    );
  } catch {
    sink.rejected++;
    return Response.json({ message: "payload could not be decoded" }, { status: 400 });
  }
}

// ---------------------------------------------------------------------------------------
// Routing

const server = Bun.serve({
  hostname: HOST,
  port: PORT,
  maxRequestBodySize: MAX_BODY_BYTES + 1024,
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const method = request.method;
    if (pathname === "/healthz" && method === "GET") return Response.json({ status: "ok" });
    if (pathname === "/v1/chat/completions" && method === "POST") return chatCompletions(request);
    if (pathname === "/v1/models" && method === "GET") {
      return Response.json({ object: "list", data: [{ id: MODEL, object: "model", owned_by: "tierbench" }] });
    }
    if (method === "POST" && (pathname === "/api/public/otel/v1/traces" || pathname === "/api/public/ingestion")) {
      return ingest(request, pathname);
    }
    if (pathname === "/api/public/projects" && method === "GET") {
      return Response.json({ data: [{ id: "tierbench-sink", name: "tierbench sink" }] });
    }
    if (pathname === "/sink/stats" && method === "GET") return Response.json(sink);
    if (pathname === "/sink/stats" && method === "DELETE") {
      resetSink();
      return new Response(null, { status: 204 });
    }
    return Response.json({ error: { message: `no route for ${method} ${pathname}` } }, { status: 404 });
  },
  error(error) {
    return Response.json({ error: { message: String(error) } }, { status: 500 });
  },
});

console.log(
  `mock-llm listening on http://${server.hostname}:${server.port} (ttft ${TTFT_MS} ms, ${TOKEN_MS} ms/token, ${MIN_TOKENS}-${MAX_TOKENS} tokens)` +
    (SINK_REJECT_SERVICES.size ? `; refusing spans from ${[...SINK_REJECT_SERVICES].join(", ")}` : ""),
);
