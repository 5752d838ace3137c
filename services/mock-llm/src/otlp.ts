// Counts spans in an OTLP ExportTraceServiceRequest encoded as protobuf, without a protobuf
// library: only the few length-delimited fields on the path to a span are read.
//
//   ExportTraceServiceRequest.resource_spans = 1 -> ResourceSpans.scope_spans = 2
//   -> ScopeSpans.spans = 2 -> Span { trace_id = 1, name = 5 }
//   ResourceSpans.resource = 1 -> Resource.attributes = 1 -> KeyValue { key = 1,
//   value = 2 -> AnyValue { string_value = 1 } }: the sender's `service.name`

// `services` holds each span's sending service (its resource's `service.name`), one entry
// per span, in the order of `traceIds` and `names`.
export type SpanCounts = { spans: number; traceIds: string[]; names: string[]; services: string[] };

type Field = { number: number; wire: number; start: number; end: number };

function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (offset >= bytes.length) throw new Error("truncated varint");
    const byte = bytes[offset++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
    if (shift > 63) throw new Error("varint too long");
  }
}

function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let offset = start;
  while (offset < end) {
    const [key, afterKey] = readVarint(bytes, offset);
    const number = Math.floor(key / 8);
    const wire = key & 7;
    offset = afterKey;
    if (wire === 0) {
      const [, next] = readVarint(bytes, offset);
      yield { number, wire, start: offset, end: next };
      offset = next;
    } else if (wire === 1) {
      yield { number, wire, start: offset, end: offset + 8 };
      offset += 8;
    } else if (wire === 2) {
      const [length, bodyStart] = readVarint(bytes, offset);
      offset = bodyStart + length;
      if (offset > end) throw new Error("truncated field");
      yield { number, wire, start: bodyStart, end: offset };
    } else if (wire === 5) {
      yield { number, wire, start: offset, end: offset + 4 };
      offset += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

const decoder = new TextDecoder();

function stringField(bytes: Uint8Array, start: number, end: number, number: number): string | null {
  for (const field of fields(bytes, start, end)) {
    if (field.number === number && field.wire === 2) return decoder.decode(bytes.subarray(field.start, field.end));
  }
  return null;
}

// The `service.name` attribute of a ResourceSpans' resource, or "unknown".
function serviceName(bytes: Uint8Array, start: number, end: number): string {
  for (const resource of fields(bytes, start, end)) {
    if (resource.number !== 1 || resource.wire !== 2) continue;
    for (const attribute of fields(bytes, resource.start, resource.end)) {
      if (attribute.number !== 1 || attribute.wire !== 2) continue;
      if (stringField(bytes, attribute.start, attribute.end, 1) !== "service.name") continue;
      for (const value of fields(bytes, attribute.start, attribute.end)) {
        if (value.number === 2 && value.wire === 2) return stringField(bytes, value.start, value.end, 1) ?? "unknown";
      }
    }
  }
  return "unknown";
}

export function countOtlpProtobufSpans(bytes: Uint8Array): SpanCounts {
  const counts: SpanCounts = { spans: 0, traceIds: [], names: [], services: [] };
  for (const resource of fields(bytes, 0, bytes.length)) {
    if (resource.number !== 1 || resource.wire !== 2) continue;
    const service = serviceName(bytes, resource.start, resource.end);
    for (const scope of fields(bytes, resource.start, resource.end)) {
      if (scope.number !== 2 || scope.wire !== 2) continue;
      for (const span of fields(bytes, scope.start, scope.end)) {
        if (span.number !== 2 || span.wire !== 2) continue;
        counts.spans++;
        let traceId = "";
        let name = "";
        for (const field of fields(bytes, span.start, span.end)) {
          if (field.number === 1 && field.wire === 2) traceId = Buffer.from(bytes.subarray(field.start, field.end)).toString("hex");
          if (field.number === 5 && field.wire === 2) name = decoder.decode(bytes.subarray(field.start, field.end));
        }
        counts.traceIds.push(traceId);
        counts.names.push(name);
        counts.services.push(service);
      }
    }
  }
  return counts;
}
