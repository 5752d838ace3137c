// Langfuse tracing through the official SDK (@langfuse/tracing on OpenTelemetry). Spans are
// batched and exported in the background by the SDK's span processor, to LANGFUSE_BASE_URL.
// TRACING=off turns it off: no provider is set up and every call below is a no-op.
//
// The runtime counts the spans it hands to the SDK's processor (those the processor
// exports; GET /tracing/stats) and can make the SDK export what it holds (POST
// /tracing/flush), so a benchmark can check that every span reached the sink.

import { isDefaultExportSpan, LangfuseSpanProcessor } from "@langfuse/otel";
import { setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import type { Context } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { SharedSpanCount } from "./span-count";

export const tracingEnabled = !["off", "false", "0", "no"].includes(
  (process.env.TRACING ?? "on").toLowerCase(),
);

// The sender's name in every export (the OTLP resource's `service.name`).
const SERVICE_NAME = process.env.OTEL_SERVICE_NAME || "agent-ts";

// Counts each finished span as it is handed to the Langfuse processor, if that processor
// exports it (its default filter: Langfuse's own spans and known LLM instrumentations).
class CountingSpanProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly count: SharedSpanCount,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (isDefaultExportSpan(span)) this.count.add(1);
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

let provider: BasicTracerProvider | undefined;
// Every worker process of this runtime counts into the same directory (the first process's
// choice, inherited by the workers it starts).
const spanCount = new SharedSpanCount(() => provider?.forceFlush());

if (tracingEnabled) {
  if (!process.env.LANGFUSE_BASE_URL && process.env.LANGFUSE_HOST) {
    process.env.LANGFUSE_BASE_URL = process.env.LANGFUSE_HOST;
  }
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": SERVICE_NAME }),
    spanProcessors: [new CountingSpanProcessor(new LangfuseSpanProcessor(), spanCount)],
  });
  setLangfuseTracerProvider(provider);
  spanCount.start();
}

export type TracingStats = { spans_ended: number; tracing: "on" | "off" };

// The spans ended so far by every process of this runtime.
export function tracingStats(): TracingStats {
  return { spans_ended: spanCount.total(), tracing: tracingEnabled ? "on" : "off" };
}

// Export what the SDK holds now, in this process and (within a tick) in every other one.
export async function flushTracing(): Promise<TracingStats> {
  spanCount.requestFlush();
  await provider?.forceFlush();
  return tracingStats();
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
  spanCount.stop();
  await provider?.shutdown();
}
