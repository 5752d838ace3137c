// Langfuse tracing through the official SDK (@langfuse/tracing on OpenTelemetry). Spans are
// batched and exported in the background by the SDK's span processor, to LANGFUSE_BASE_URL.
// TRACING=off turns it off: no provider is set up and every call below is a no-op.

import { LangfuseSpanProcessor } from "@langfuse/otel";
import { setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";

export const tracingEnabled = !["off", "false", "0", "no"].includes(
  (process.env.TRACING ?? "on").toLowerCase(),
);

let provider: BasicTracerProvider | undefined;

if (tracingEnabled) {
  if (!process.env.LANGFUSE_BASE_URL && process.env.LANGFUSE_HOST) {
    process.env.LANGFUSE_BASE_URL = process.env.LANGFUSE_HOST;
  }
  provider = new BasicTracerProvider({ spanProcessors: [new LangfuseSpanProcessor()] });
  setLangfuseTracerProvider(provider);
}

type Observation = {
  update(attributes: Record<string, unknown>): unknown;
  end(): void;
  startObservation(name: string, attributes: Record<string, unknown>, options: { asType: any }): Observation;
};

const noop: Observation = {
  update: () => noop,
  end: () => {},
  startObservation: () => noop,
};

export function startTurnTrace(sessionId: string, content: string): Observation {
  if (!tracingEnabled) return noop;
  return startObservation(
    "agent-turn",
    { input: content, metadata: { sessionId } },
    { asType: "agent" },
  ) as unknown as Observation;
}

export async function shutdownTracing(): Promise<void> {
  await provider?.shutdown();
}
