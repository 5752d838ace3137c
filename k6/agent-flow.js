// The agent lifecycle, once per iteration: create a session, send 2-3 messages (one makes the
// LLM ask for tools), read the history, delete the session.
//
// Every request is tagged with its step's `name`, so latency can be broken down per step:
//   create_session, send_message, send_tool_message, get_history, delete_session
// The LLM turns (send_message, send_tool_message), the requests users wait on, run in the
// group `llm_turn`: their requests carry the `group` tag `::llm_turn`, one tag value an SLO
// can hold them to (`capacity.slo_requests: {group: "::llm_turn"}`).
//
// Environment:
//   BASE_URL  the runtime under test (default http://127.0.0.1:8081)
//   STAGES    "duration:target,..." when run standalone (default "30s:5,30s:10,30s:10");
//             the sweep passes its profile as --stage flags instead, which take precedence.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8082 -e STAGES=10s:10 k6/agent-flow.js

import http from "k6/http";
import { check, group } from "k6";

const BASE_URL = (__ENV.BASE_URL || "http://127.0.0.1:8081").replace(/\/+$/, "");
const STEPS = ["create_session", "send_message", "send_tool_message", "get_history", "delete_session"];
const CITIES = ["Amsterdam", "Berlin", "Lisbon", "Madrid", "Paris", "Rome", "Vienna", "Warsaw"];
const JSON_HEADERS = { "Content-Type": "application/json" };

function parseStages(text) {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const [duration, target] = part.split(":");
      if (!duration || target === undefined || Number.isNaN(Number(target))) {
        throw new Error(`STAGES entry '${part}' is not duration:target, e.g. 30s:10`);
      }
      return { duration, target: Number(target) };
    });
}

const thresholds = {
  http_req_failed: ["rate<0.01"],
  checks: ["rate>0.99"],
};
// One always-true threshold per step makes k6's summary list each step's latency, and one
// more the LLM turns' together.
for (const step of STEPS) {
  thresholds[`http_req_duration{name:${step}}`] = ["max>=0"];
}
thresholds["http_req_duration{group:::llm_turn}"] = ["max>=0"];

export const options = {
  stages: parseStages(__ENV.STAGES || "30s:5,30s:10,30s:10"),
  thresholds,
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max", "count"],
};

function json(response) {
  try {
    return response.json();
  } catch (error) {
    return null;
  }
}

function sendMessage(session, content, step) {
  const response = group("llm_turn", () =>
    http.post(`${BASE_URL}/v1/sessions/${session}/messages`, JSON.stringify({ content }), {
      headers: JSON_HEADERS,
      tags: { name: step },
    }),
  );
  const body = json(response);
  const wantsTools = step === "send_tool_message";
  check(response, {
    [`${step}: status 200`]: (r) => r.status === 200,
    [`${step}: assistant reply`]: () =>
      body !== null && body.message && body.message.role === "assistant" && typeof body.message.content === "string",
    [`${step}: ${wantsTools ? "tools called" : "no tools"}`]: () =>
      body !== null && Array.isArray(body.tool_calls) && (body.tool_calls.length > 0) === wantsTools,
  });
  return body;
}

export default function () {
  const vu = __VU;
  const iteration = __ITER;

  const created = http.post(`${BASE_URL}/v1/sessions`, null, { tags: { name: "create_session" } });
  const session = (json(created) || {}).id;
  check(created, {
    "create_session: status 201": (r) => r.status === 201,
    "create_session: id": () => typeof session === "string" && session.length > 0,
  });
  if (!session) return;

  const city = CITIES[(vu + iteration) % CITIES.length];
  const a = (vu % 9) + 1;
  const b = (iteration % 13) + 2;
  let sent = 0;
  sendMessage(session, `hello from vu ${vu}, iteration ${iteration}`, "send_message");
  sent++;
  sendMessage(session, `please calculate ${a}*(${b}+3)/4 and look up ${city}`, "send_tool_message");
  sent++;
  if (iteration % 2 === 1) {
    sendMessage(session, `thanks, summarise that for iteration ${iteration}`, "send_message");
    sent++;
  }

  const history = http.get(`${BASE_URL}/v1/sessions/${session}`, { tags: { name: "get_history" } });
  const messages = (json(history) || {}).messages;
  check(history, {
    "get_history: status 200": (r) => r.status === 200,
    "get_history: every turn kept": () =>
      Array.isArray(messages) && messages.filter((m) => m.role === "user").length === sent,
  });

  const deleted = http.del(`${BASE_URL}/v1/sessions/${session}`, null, { tags: { name: "delete_session" } });
  check(deleted, { "delete_session: status 204": (r) => r.status === 204 });
}
